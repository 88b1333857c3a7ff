/* A translation unit for the analysis tests; never linked. */
int sample(int x) { return x + 1; }
