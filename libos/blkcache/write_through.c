/* Write-through: a write completes once the device completed it; the
 * cache keeps a clean copy for later reads. */
#include <blkcache/blkcache.h>

#include "policy.h"

bool blkcache_policy_write_through(void)
{
    return true;
}

const char *blkcache_write_policy_name(void)
{
    return "write-through";
}
