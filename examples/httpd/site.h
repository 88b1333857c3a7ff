/*
 * site.h - where the web server's files come from, chosen in BUILD
 * (httpd_image's `content` or `volume`): the table linked into the image
 * (site_linked.c) or the files of a read-only volume, read into memory at
 * boot (site_volume.c). Either way a <content/content.h> table.
 */
#ifndef HTTPD_SITE_H
#define HTTPD_SITE_H

#include <content/content.h>

/* 0 and *out, or nonzero after a console line saying what is wrong. */
int httpd_site_open(const struct content_table **out);

/* "linked-in content" or "volume". */
extern const char httpd_site_source[];

#endif /* HTTPD_SITE_H */
