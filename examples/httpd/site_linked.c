/* site.h: the image's linked-in content table (unikernel_content). */
#include "examples/httpd/site.h"

const char httpd_site_source[] = "linked-in content";

int httpd_site_open(const struct content_table **out)
{
    *out = &content_table;
    return 0;
}
