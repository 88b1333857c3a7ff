/*
 * The fuzz driver: a seeded, derandomised mutational fuzzer around one
 * target's fuzz_one() (<testing/fuzz.h>), built under ASan and UBSan.
 *
 * Input i of a run is a function of (seed, i) and the seed corpus only:
 * its generator is seeded from both, and the corpus does not grow, so a
 * bounded run (`bazel test`) replays the same inputs every time and a
 * long run (`bazel run ... -- --seconds N`) is reproducible from its seed
 * and the iteration it reached. Every corpus input is first run as it is
 * (the regression inputs of fixed bugs among them), then mutants: a
 * stack of 1 to 8 edits (bit flips, byte sets, interesting values,
 * length-field edits, truncation, deletion, insertion, duplication,
 * splices with another corpus input, dictionary tokens, non-ASCII and
 * metacharacter bytes).
 *
 * A failure (a sanitizer report, SIGABRT/SIGILL/SIGFPE, a time-out of
 * one input, a non-zero fuzz_one) saves the input as
 * <crash dir>/crash-<hash> and prints how to replay it.
 *
 * Usage: <binary> [options] [corpus files or directories...]
 *   --seed N          the run's seed (default 1)
 *   --iterations N    mutants to run (default 10000; 0 with --seconds: no limit)
 *   --seconds N       stop after N seconds (the long run)
 *   --max-len N       longest input (default 4096)
 *   --timeout N       seconds one input may take (default 10)
 *   --crash-dir DIR   where failing inputs go (default: a test's undeclared
 *                     outputs, else fuzz-crashes/<package>/<name>)
 *   --name NAME       the target's "package:name", for messages
 *   --label LABEL     its `bazel run` label, for messages
 *   --replay FILE...  run the given inputs once each, nothing else
 *   --save-seeds DIR  write the generated seeds there as files, and stop
 */
#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <testing/fuzz.h>

#pragma weak fuzz_init
#pragma weak fuzz_seeds
#pragma weak fuzz_dictionary

/* The sanitizers' runtime calls this on a fatal report (weak: absent
 * without one). */
void __sanitizer_set_death_callback(void (*callback)(void))
    __attribute__((weak));

/*
 * UBSan's fatal reports end in _exit, past any callback of ours (its
 * runtime is not ASan's): abort instead, so the SIGABRT handler saves
 * the input. The stack shows where.
 */
const char *__ubsan_default_options(void);
const char *__ubsan_default_options(void)
{
    return "abort_on_error=1:print_stacktrace=1";
}

/* ---- the generator: splitmix64, our own so runs never change ---------- */

static uint64_t mix(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static uint64_t below(uint64_t *state, uint64_t n)
{
    return n == 0 ? 0 : mix(state) % n;
}

/* ---- inputs ------------------------------------------------------------ */

struct input {
    uint8_t *data;
    size_t len;
    char *origin; /* a file name, or "seed N" */
};

static struct {
    struct input *items;
    size_t count, cap;
} corpus;

static size_t max_len = 4096;

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (p == NULL) {
        fprintf(stderr, "fuzz: out of memory\n");
        exit(2);
    }
    return p;
}

static void corpus_add_named(const void *data, size_t len, const char *origin)
{
    if (corpus.count == corpus.cap) {
        corpus.cap = corpus.cap ? corpus.cap * 2 : 64;
        corpus.items = realloc(corpus.items, corpus.cap * sizeof(struct input));
        if (corpus.items == NULL) {
            fprintf(stderr, "fuzz: out of memory\n");
            exit(2);
        }
    }
    if (len > max_len)
        len = max_len;
    struct input *in = &corpus.items[corpus.count++];
    in->data = xmalloc(len);
    memcpy(in->data, data, len);
    in->len = len;
    in->origin = strdup(origin);
}

static unsigned seeds_added;

static void add_seed(const void *data, size_t len)
{
    char origin[32];
    snprintf(origin, sizeof origin, "seed %u", seeds_added++);
    corpus_add_named(data, len, origin);
}

static bool read_file(const char *path, uint8_t **data, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return false;
    size_t cap = 4096, n = 0;
    uint8_t *buf = xmalloc(cap);
    size_t got;
    while ((got = fread(buf + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) {
            cap *= 2;
            buf = realloc(buf, cap);
            if (buf == NULL) {
                fprintf(stderr, "fuzz: out of memory\n");
                exit(2);
            }
        }
    }
    bool ok = !ferror(f);
    fclose(f);
    *data = buf;
    *len = n;
    return ok;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A file, or every regular file of a directory (sorted: a fixed order). */
static void load_path(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        fprintf(stderr, "fuzz: %s: %s (give an existing corpus file or "
                        "directory)\n", path, strerror(errno));
        exit(2);
    }
    if (S_ISDIR(st.st_mode)) {
        DIR *d = opendir(path);
        if (d == NULL) {
            fprintf(stderr, "fuzz: %s: %s\n", path, strerror(errno));
            exit(2);
        }
        char **names = NULL;
        size_t n = 0, cap = 0;
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            if (e->d_name[0] == '.')
                continue;
            if (n == cap) {
                cap = cap ? cap * 2 : 32;
                names = realloc(names, cap * sizeof(char *));
                if (names == NULL)
                    exit(2);
            }
            size_t plen = strlen(path) + strlen(e->d_name) + 2;
            names[n] = xmalloc(plen);
            snprintf(names[n], plen, "%s/%s", path, e->d_name);
            n++;
        }
        closedir(d);
        if (n > 0)
            qsort(names, n, sizeof(char *), by_name);
        for (size_t i = 0; i < n; i++) {
            load_path(names[i]);
            free(names[i]);
        }
        free(names);
        return;
    }
    uint8_t *data;
    size_t len;
    if (!read_file(path, &data, &len)) {
        fprintf(stderr, "fuzz: %s: cannot read it\n", path);
        exit(2);
    }
    corpus_add_named(data, len, path);
    free(data);
}

/* ---- mutation ------------------------------------------------------------ */

/* The buffer a mutant is built in (max_len bytes). */
static uint8_t *work;
static size_t work_len;

static const uint8_t INTERESTING8[] = {0, 1, 2, 0x7f, 0x80, 0xfe, 0xff, 16,
                                       32, 64, 100, 127, 128, 255};
static const uint16_t INTERESTING16[] = {0, 1, 0x7f, 0x80, 0xff, 0x100,
                                         0x200, 0x3ff, 0x400, 0x7ff, 0x800,
                                         0xfff, 0x1000, 0x1001, 0x7fff,
                                         0x8000, 0xffff};
static const uint32_t INTERESTING32[] = {0, 1, 0xff, 0xffff, 0x10000,
                                         0x7fffffff, 0x80000000, 0xffffffff,
                                         0xfffffffe, 0x1000, 0x1001, 0x10001,
                                         0x40000000, 0x20000000};

/* Bytes that break parsers and scripts: non-ASCII, UTF-8 lead and
 * continuation bytes, quotes, separators, terminators. */
static const uint8_t SPECIAL[] = "\0\n\r\t \"'\\/=.,;:%#()[]{}*?$&|<>-+"
                                 "\x80\xbf\xc0\xc2\xe2\xef\xf0\xf4\xf8\xff\xfe";

static void put_le(size_t at, uint64_t v, unsigned width)
{
    for (unsigned i = 0; i < width; i++)
        work[at + i] = (uint8_t)(v >> (8 * i));
}

static void put_be(size_t at, uint64_t v, unsigned width)
{
    for (unsigned i = 0; i < width; i++)
        work[at + i] = (uint8_t)(v >> (8 * (width - 1 - i)));
}

static uint64_t get_le(size_t at, unsigned width)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < width; i++)
        v |= (uint64_t)work[at + i] << (8 * i);
    return v;
}

/* Make room for n bytes at `at` (clipped at max_len); the bytes moved. */
static size_t open_gap(size_t at, size_t n)
{
    if (work_len + n > max_len)
        n = max_len - work_len;
    memmove(work + at + n, work + at, work_len - at);
    work_len += n;
    return n;
}

static void insert_bytes(size_t at, const uint8_t *bytes, size_t n)
{
    n = open_gap(at, n);
    memcpy(work + at, bytes, n);
}

static size_t dictionary_size(void)
{
    size_t n = 0;
    if (fuzz_dictionary != NULL)
        while (fuzz_dictionary[n] != NULL)
            n++;
    return n;
}

static void mutate_once(uint64_t *r, const struct input *other)
{
    size_t len = work_len;
    size_t at = below(r, len); /* 0 when empty */
    switch (below(r, 15)) {
    case 0: /* flip a bit */
        if (len)
            work[at] ^= (uint8_t)(1u << below(r, 8));
        break;
    case 1: /* set a byte */
        if (len)
            work[at] = (uint8_t)mix(r);
        break;
    case 2: /* an interesting byte */
        if (len)
            work[at] = INTERESTING8[below(r, sizeof INTERESTING8)];
        break;
    case 3: /* an interesting 16-bit value, either byte order */
        if (len >= 2) {
            at = below(r, len - 1);
            uint16_t v = INTERESTING16[below(r, sizeof INTERESTING16 / 2)];
            if (mix(r) & 1)
                put_le(at, v, 2);
            else
                put_be(at, v, 2);
        }
        break;
    case 4: /* an interesting 32-bit value, either byte order */
        if (len >= 4) {
            at = below(r, len - 3);
            uint32_t v = INTERESTING32[below(r, sizeof INTERESTING32 / 4)];
            if (mix(r) & 1)
                put_le(at, v, 4);
            else
                put_be(at, v, 4);
        }
        break;
    case 5: /* a length field: a little-endian word, 4-aligned more often,
               set to a size that means something here, or nudged */
        if (len >= 4) {
            unsigned width = (mix(r) & 1) ? 4 : 2;
            at = below(r, len - width + 1);
            if (mix(r) & 1)
                at &= ~(size_t)3;
            uint64_t v;
            switch (below(r, 5)) {
            case 0: v = len; break;
            case 1: v = len - at - width; break;
            case 2: v = max_len + below(r, 16); break;
            case 3: v = get_le(at, width) + 1 + below(r, 16); break;
            default: v = get_le(at, width) - 1 - below(r, 16); break;
            }
            put_le(at, v, width);
        }
        break;
    case 6: /* add or subtract a little */
        if (len)
            work[at] = (uint8_t)(work[at] + (uint8_t)(below(r, 33) - 16));
        break;
    case 7: /* truncate */
        work_len = below(r, len + 1);
        break;
    case 8: /* delete a chunk */
        if (len) {
            size_t n = 1 + below(r, len - at);
            if (n > 16 && (mix(r) & 1))
                n = 1 + below(r, 16);
            memmove(work + at, work + at + n, len - at - n);
            work_len -= n;
        }
        break;
    case 9: { /* insert random bytes */
        uint8_t bytes[16];
        size_t n = 1 + below(r, sizeof bytes);
        for (size_t i = 0; i < n; i++)
            bytes[i] = (uint8_t)mix(r);
        insert_bytes(below(r, len + 1), bytes, n);
        break;
    }
    case 10: /* duplicate a chunk of itself elsewhere */
        if (len) {
            size_t n = 1 + below(r, len - at);
            if (n > 64)
                n = 1 + below(r, 64);
            uint8_t *copy = xmalloc(n);
            memcpy(copy, work + at, n);
            insert_bytes(below(r, len + 1), copy, n);
            free(copy);
        }
        break;
    case 11: /* splice: our head, another input's tail */
        if (other->len) {
            size_t from = below(r, other->len);
            size_t cut = below(r, len + 1);
            size_t n = other->len - from;
            if (cut + n > max_len)
                n = max_len - cut;
            memcpy(work + cut, other->data + from, n);
            work_len = cut + n;
        }
        break;
    case 12: /* insert a chunk of another input */
        if (other->len) {
            size_t from = below(r, other->len);
            size_t n = 1 + below(r, other->len - from);
            insert_bytes(below(r, len + 1), other->data + from, n);
        }
        break;
    case 13: { /* a dictionary token, inserted or written over */
        size_t nd = dictionary_size();
        if (nd == 0)
            break;
        const char *tok = fuzz_dictionary[below(r, nd)];
        size_t n = strlen(tok);
        at = below(r, len + 1);
        if ((mix(r) & 1) && at + n <= len)
            memcpy(work + at, tok, n);
        else
            insert_bytes(at, (const uint8_t *)tok, n);
        break;
    }
    default: { /* a special byte, inserted or written over */
        uint8_t b = SPECIAL[below(r, sizeof SPECIAL - 1)];
        if (len && (mix(r) & 1))
            work[at] = b;
        else
            insert_bytes(below(r, len + 1), &b, 1);
        break;
    }
    }
}

/* Mutant `iteration` of the run `seed`: the same bytes every time. */
static const struct input *make_mutant(uint64_t seed, uint64_t iteration)
{
    uint64_t r = seed ^ (iteration * 0xd1342543de82ef95ull);
    (void)mix(&r);
    const struct input *base = &corpus.items[below(&r, corpus.count)];
    memcpy(work, base->data, base->len);
    work_len = base->len;
    /* Mostly few edits, sometimes many. */
    unsigned edits = 1 + (unsigned)below(&r, 1 + below(&r, 8));
    for (unsigned i = 0; i < edits; i++)
        mutate_once(&r, &corpus.items[below(&r, corpus.count)]);
    return base;
}

/* ---- running one input, and what a failure leaves ----------------------- */

static const char *target_name = "fuzz";
static const char *target_label = "<the _fuzz target>";
static char crash_dir[4096];
static const uint8_t *current;
static size_t current_len;
static char current_what[4352];
static volatile sig_atomic_t saving;

static uint64_t fnv1a(const uint8_t *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 0x100000001b3ull;
    return h;
}

/* Async-signal-safe: only open/write/close and our own formatting. */
static void emit(const char *s)
{
    ssize_t ignored = write(2, s, strlen(s));
    (void)ignored;
}

static void make_dirs(const char *path);

static void save_current(void)
{
    if (saving || current == NULL)
        return;
    saving = 1;
    emit("\nfuzz: ");
    emit(target_name);
    emit(": failed on ");
    emit(current_what);
    emit("\n");
    if (crash_dir[0] == '\0') {
        emit("fuzz: no --crash-dir: the input is not saved\n");
        return;
    }
    make_dirs(crash_dir); /* only now: a clean run leaves nothing behind */
    static const char hex[] = "0123456789abcdef";
    char path[sizeof crash_dir + 32];
    size_t n = strlen(crash_dir);
    memcpy(path, crash_dir, n);
    memcpy(path + n, "/crash-", 7);
    n += 7;
    uint64_t h = fnv1a(current, current_len);
    for (int i = 15; i >= 0; i--)
        path[n++] = hex[(h >> (4 * i)) & 15];
    path[n] = '\0';
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) {
        emit("fuzz: cannot write ");
        emit(path);
        emit("\n");
        return;
    }
    size_t done = 0;
    while (done < current_len) {
        ssize_t w = write(fd, current + done, current_len - done);
        if (w <= 0)
            break;
        done += (size_t)w;
    }
    close(fd);
    emit("fuzz: the input is saved as ");
    emit(path);
    if (getenv("TEST_UNDECLARED_OUTPUTS_DIR") != NULL)
        emit("\nfuzz: (bazel test keeps it in bazel-testlogs/<package>/"
             "<test>/test.outputs/outputs.zip)");
    emit("\nfuzz: replay it with: bazel run ");
    emit(target_label);
    emit(" -- --replay ");
    emit(path);
    emit("\n");
}

static void on_signal(int sig)
{
    if (sig == SIGALRM)
        emit("\nfuzz: one input ran past --timeout (a hang?)\n");
    save_current();
    signal(sig == SIGALRM ? SIGABRT : sig, SIG_DFL);
    raise(sig == SIGALRM ? SIGABRT : sig);
}

static unsigned timeout_s = 10;

static void run_one(const uint8_t *data, size_t len)
{
    /* A private copy of exactly len bytes: ASan sees a read past its end. */
    uint8_t *copy = xmalloc(len);
    memcpy(copy, data, len);
    current = copy;
    current_len = len;
    alarm(timeout_s);
    int rc = fuzz_one(copy, len);
    alarm(0);
    if (rc != 0) {
        emit("\nfuzz: fuzz_one returned non-zero (the target found a "
             "broken property)\n");
        save_current();
        exit(1);
    }
    current = NULL;
    free(copy);
}

/* ---- the command line -------------------------------------------------------- */

static uint64_t number(const char *opt, const char *s)
{
    char *end;
    errno = 0;
    unsigned long long v = s ? strtoull(s, &end, 0) : 0;
    if (s == NULL || *s == '\0' || *end != '\0' || errno != 0 || *s == '-') {
        fprintf(stderr, "fuzz: %s needs a non-negative number, not \"%s\"\n",
                opt, s ? s : "");
        exit(2);
    }
    return v;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Relative paths given to `bazel run` mean the caller's directory. */
static void resolve(const char *path, char *out, size_t size)
{
    const char *base = getenv("BUILD_WORKING_DIRECTORY");
    if (path[0] == '/' || base == NULL || base[0] == '\0')
        snprintf(out, size, "%s", path);
    else
        snprintf(out, size, "%s/%s", base, path);
}

static void make_dirs(const char *path)
{
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s", path);
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        (void)mkdir(tmp, 0755);
        *p = '/';
    }
    if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
        fprintf(stderr, "fuzz: cannot create %s: %s\n", tmp, strerror(errno));
}

static int save_seeds(const char *dir)
{
    char out[4096];
    resolve(dir, out, sizeof out);
    make_dirs(out);
    for (size_t i = 0; i < corpus.count; i++) {
        char path[4200];
        snprintf(path, sizeof path, "%s/seed-%03zu", out, i);
        FILE *f = fopen(path, "wb");
        if (f == NULL || fwrite(corpus.items[i].data, 1, corpus.items[i].len, f)
                             != corpus.items[i].len) {
            fprintf(stderr, "fuzz: cannot write %s\n", path);
            exit(2);
        }
        fclose(f);
    }
    printf("fuzz: %s: %zu seeds written to %s\n", target_name, corpus.count,
           out);
    fflush(stdout);
    return 0;
}

int main(int argc, char **argv)
{
    uint64_t seed = 1, iterations = 10000, seconds = 0;
    bool iterations_given = false, replay = false;
    const char *seeds_dir = NULL;
    char **paths = xmalloc(sizeof(char *) * (size_t)argc);
    int npaths = 0;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--seed") == 0) {
            seed = number(a, v), i++;
        } else if (strcmp(a, "--iterations") == 0) {
            iterations = number(a, v), i++;
            iterations_given = true;
        } else if (strcmp(a, "--seconds") == 0) {
            seconds = number(a, v), i++;
        } else if (strcmp(a, "--max-len") == 0) {
            max_len = (size_t)number(a, v), i++;
            if (max_len == 0)
                max_len = 1;
        } else if (strcmp(a, "--timeout") == 0) {
            timeout_s = (unsigned)number(a, v), i++;
        } else if (strcmp(a, "--crash-dir") == 0 && v) {
            resolve(v, crash_dir, sizeof crash_dir), i++;
        } else if (strcmp(a, "--name") == 0 && v) {
            target_name = v, i++;
        } else if (strcmp(a, "--label") == 0 && v) {
            target_label = v, i++;
        } else if (strcmp(a, "--save-seeds") == 0 && v) {
            seeds_dir = v, i++;
        } else if (strcmp(a, "--replay") == 0) {
            replay = true;
        } else if (strncmp(a, "--", 2) == 0) {
            fprintf(stderr, "fuzz: unknown option %s (see testing/fuzz/driver.c "
                            "or docs/security.md)\n", a);
            return 2;
        } else {
            paths[npaths++] = argv[i];
        }
    }
    if (seconds > 0 && !iterations_given)
        iterations = 0; /* the long run: time is the bound */

    if (__sanitizer_set_death_callback != NULL)
        __sanitizer_set_death_callback(save_current);
    signal(SIGABRT, on_signal);
    signal(SIGILL, on_signal);
    signal(SIGALRM, on_signal);

    /* Where failing inputs go: a test's undeclared outputs, else
     * fuzz-crashes/<package>/<name> in the directory `bazel run` was
     * called from. */
    if (crash_dir[0] == '\0') {
        const char *outputs = getenv("TEST_UNDECLARED_OUTPUTS_DIR");
        if (outputs != NULL)
            snprintf(crash_dir, sizeof crash_dir, "%s", outputs);
        else {
            snprintf(crash_dir, sizeof crash_dir, "fuzz-crashes/%s",
                     target_name);
            for (char *c = crash_dir; *c; c++)
                if (*c == ':')
                    *c = '/'; /* "pkg:name": fuzz-crashes/pkg/name */
        }
        char tmp[sizeof crash_dir];
        memcpy(tmp, crash_dir, sizeof tmp);
        resolve(tmp, crash_dir, sizeof crash_dir);
    }

    if (fuzz_init != NULL)
        fuzz_init();

    if (replay) {
        if (npaths == 0) {
            fprintf(stderr, "fuzz: --replay needs the input files to run\n");
            return 2;
        }
        crash_dir[0] = '\0'; /* the input is already a file */
        for (int i = 0; i < npaths; i++) {
            char path[4096];
            resolve(paths[i], path, sizeof path);
            uint8_t *data;
            size_t len;
            if (!read_file(path, &data, &len)) {
                fprintf(stderr, "fuzz: %s: cannot read it (%s)\n", path,
                        strerror(errno));
                return 2;
            }
            snprintf(current_what, sizeof current_what, "%s", path);
            run_one(data, len);
            printf("fuzz: %s: %s (%zu bytes): ok\n", target_name, path, len);
            free(data);
        }
        free(paths);
        return 0;
    }

    if (fuzz_seeds != NULL)
        fuzz_seeds(add_seed);
    for (int i = 0; i < npaths; i++)
        load_path(paths[i]);
    if (corpus.count == 0)
        corpus_add_named("", 0, "the empty input");
    if (seeds_dir != NULL) {
        free(paths);
        return save_seeds(seeds_dir);
    }

    work = xmalloc(max_len);
    double start = now();

    for (size_t i = 0; i < corpus.count; i++) {
        snprintf(current_what, sizeof current_what, "corpus input %s",
                 corpus.items[i].origin);
        run_one(corpus.items[i].data, corpus.items[i].len);
    }

    uint64_t done = 0;
    /* A digest of every mutant: equal runs ran equal inputs. */
    uint64_t digest = 0xcbf29ce484222325ull;
    double last_report = start;
    for (uint64_t it = 0; iterations == 0 || it < iterations; it++) {
        const struct input *base = make_mutant(seed, it);
        snprintf(current_what, sizeof current_what,
                 "mutant %llu of seed %llu (from %s)", (unsigned long long)it,
                 (unsigned long long)seed, base->origin);
        digest = (digest ^ fnv1a(work, work_len)) * 0x100000001b3ull;
        run_one(work, work_len);
        done++;
        if (seconds > 0) { /* clock_gettime is cheap: every input */
            double t = now();
            if (t - start >= (double)seconds)
                break;
            if (t - last_report >= 10) {
                printf("fuzz: %s: %llu inputs, %.0f/s\n", target_name,
                       (unsigned long long)done, (double)done / (t - start));
                fflush(stdout);
                last_report = t;
            }
        }
    }
    double took = now() - start;
    printf("fuzz: %s: seed %llu, %zu corpus inputs (%u generated), %llu "
           "mutants (digest %016llx) in %.1f s (%.0f/s): no failure\n",
           target_name, (unsigned long long)seed, corpus.count, seeds_added,
           (unsigned long long)done, (unsigned long long)digest, took,
           took > 0 ? (double)done / took : 0.0);
    /* Before LeakSanitizer's check at exit, which ends with _exit. */
    fflush(stdout);
    free(paths);
    return 0;
}
