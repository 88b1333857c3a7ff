#include <stdlib.h>

/* As in C, the most negative value has no absolute value: undefined. */
int abs(int x) { return x < 0 ? -x : x; }
long labs(long x) { return x < 0 ? -x : x; }
long long llabs(long long x) { return x < 0 ? -x : x; }
