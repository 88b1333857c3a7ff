/* A header for //tests/analysis:no_code_test: a library that builds no code. */
int sample(int x);
