/*
 * Accounting: statistics and the list of live grants with their tags.
 */
#include <stdio.h>

#include "internal.h"

void gnttab_get_stats(struct gnttab_stats *out)
{
    *out = gnttab_state.stats;
}

size_t gnttab_outstanding(struct gnttab_grant_info *out, size_t max)
{
    struct gnttab_state *s = &gnttab_state;
    size_t n = 0;
    for (uint32_t ref = 0; ref < s->nr_refs; ref++) {
        const struct gnttab_record *rec = &s->refs[ref];
        if (rec->state != GNTTAB_REF_LIVE && rec->state != GNTTAB_REF_DEFERRED)
            continue;
        if (n < max)
            out[n] = (struct gnttab_grant_info){
                .ref = ref,
                .domid = rec->domid,
                .readonly = rec->readonly,
                .deferred = rec->state == GNTTAB_REF_DEFERRED,
                .frame = rec->frame,
                .tag = rec->tag,
            };
        n++;
    }
    return n;
}

size_t gnttab_report_leaks(void)
{
    struct gnttab_state *s = &gnttab_state;
    size_t n = 0;
    for (uint32_t ref = 0; ref < s->nr_refs; ref++) {
        const struct gnttab_record *rec = &s->refs[ref];
        if (rec->state != GNTTAB_REF_LIVE && rec->state != GNTTAB_REF_DEFERRED)
            continue;
        printf("gnttab: leak: ref %u dom %u frame 0x%llx %s%s \"%s\"\n",
               (unsigned)ref, (unsigned)rec->domid,
               (unsigned long long)rec->frame, rec->readonly ? "ro" : "rw",
               rec->state == GNTTAB_REF_DEFERRED ? " (deferred)" : "",
               rec->tag);
        n++;
    }
    return n;
}

size_t gnttab_print_summary(const char *who)
{
    const struct gnttab_stats *st = &gnttab_state.stats;
    size_t live = gnttab_report_leaks();

    printf("%s: gnttab: %zu grants outstanding (%u deferred); %llu granted, "
           "%llu ended, %llu refused while the peer held them, peak %u\n",
           who, live, (unsigned)st->deferred, (unsigned long long)st->granted,
           (unsigned long long)st->ended, (unsigned long long)st->busy,
           (unsigned)st->peak);
    if (live != 0)
        printf("%s: the peer still maps our grants\n", who);
    return live;
}
