/* Write-back: a write completes in the cache; dirty blocks reach the
 * device on a flush, under pressure and on the timer. */
#include <blkcache/blkcache.h>

#include "policy.h"

bool blkcache_policy_write_through(void)
{
    return false;
}

const char *blkcache_write_policy_name(void)
{
    return "write-back";
}
