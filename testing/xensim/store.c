/*
 * The simulated store: a flat list of nodes with absolute paths (every
 * ancestor of a node exists), transactions as whole copies of the tree,
 * and watch matching as xenstored does it.
 *
 * A transaction conflicts (EAGAIN at commit) if anything at all changed
 * in the store after it started. Real xenstored only looks at the nodes
 * the transaction touched; the coarser rule produces more conflicts,
 * never fewer, which is what a retry loop should be tested against.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define MAX_TX 16
#define MAX_WATCHES 64
#define HOME "/local/domain/1"

struct node {
    char *path;
    char *value;
    size_t len;
};

struct tree {
    struct node *nodes;
    size_t count, cap;
};

struct change {
    char *path;
    bool removed; /* rm: watches below the path fire too */
};

struct tx {
    uint32_t id; /* 0: slot free */
    uint64_t start_gen;
    struct tree tree;
    struct change *changes;
    size_t nchanges;
};

struct watch {
    bool used;
    char *path;  /* as registered */
    char *abs;   /* resolved */
    bool relative;
    char *token;
};

static struct {
    struct tree live;
    uint64_t gen;
    uint32_t next_tx;
    struct tx txs[MAX_TX];
    struct watch watches[MAX_WATCHES];
} st;

static char *dup_bytes(const void *bytes, size_t len)
{
    char *copy = malloc(len + 1);
    if (copy == NULL)
        sim_fatal("out of memory");
    memcpy(copy, bytes, len);
    copy[len] = '\0';
    return copy;
}

static char *dup_str(const char *s)
{
    return dup_bytes(s, strlen(s));
}

/* ---- paths ------------------------------------------------------------------------ */

static bool valid_abs(const char *p)
{
    size_t len = strlen(p);
    if (len == 0 || len > XENABI_XENSTORE_ABS_PATH_MAX || p[0] != '/')
        return false;
    if (len > 1 && p[len - 1] == '/')
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = p[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
                  || (c >= '0' && c <= '9') || c == '-' || c == '_'
                  || c == '@' || c == '/';
        if (!ok || (c == '/' && i > 0 && p[i - 1] == '/'))
            return false;
    }
    return true;
}

const char *sim_store_abspath(const char *path, char *buf, size_t size)
{
    int n;
    if (path[0] == '/')
        n = snprintf(buf, size, "%s", path);
    else if (strlen(path) > XENABI_XENSTORE_REL_PATH_MAX)
        return NULL;
    else
        n = snprintf(buf, size, "%s/%s", HOME, path);
    if (n < 0 || (size_t)n >= size || !valid_abs(buf))
        return NULL;
    return buf;
}

/* `p` is `dir` or below it. */
static bool at_or_below(const char *p, const char *dir)
{
    if (strcmp(dir, "/") == 0)
        return true;
    size_t n = strlen(dir);
    return strncmp(p, dir, n) == 0 && (p[n] == '\0' || p[n] == '/');
}

/* ---- trees -------------------------------------------------------------------------- */

static long find(const struct tree *t, const char *abs)
{
    for (size_t i = 0; i < t->count; i++)
        if (strcmp(t->nodes[i].path, abs) == 0)
            return (long)i;
    return -1;
}

static void add(struct tree *t, const char *abs, const void *value,
                size_t len)
{
    if (t->count == t->cap) {
        t->cap = t->cap ? t->cap * 2 : 32;
        t->nodes = realloc(t->nodes, t->cap * sizeof(*t->nodes));
        if (t->nodes == NULL)
            sim_fatal("out of memory");
    }
    t->nodes[t->count++] = (struct node){dup_str(abs), dup_bytes(value, len),
                                         len};
}

static void free_tree(struct tree *t)
{
    for (size_t i = 0; i < t->count; i++) {
        free(t->nodes[i].path);
        free(t->nodes[i].value);
    }
    free(t->nodes);
    *t = (struct tree){0};
}

static void copy_tree(struct tree *to, const struct tree *from)
{
    *to = (struct tree){0};
    for (size_t i = 0; i < from->count; i++)
        add(to, from->nodes[i].path, from->nodes[i].value,
            from->nodes[i].len);
}

/* Create `abs` and its missing ancestors, empty. */
static void make_path(struct tree *t, const char *abs)
{
    char prefix[XENABI_XENSTORE_ABS_PATH_MAX + 1];
    size_t len = strlen(abs);
    for (size_t i = 1; i <= len; i++) {
        if (i < len && abs[i] != '/')
            continue;
        memcpy(prefix, abs, i);
        prefix[i] = '\0';
        if (find(t, prefix) < 0)
            add(t, prefix, "", 0);
    }
}

static void tree_write(struct tree *t, const char *abs, const void *value,
                       size_t len)
{
    make_path(t, abs);
    struct node *n = &t->nodes[find(t, abs)];
    free(n->value);
    n->value = dup_bytes(value, len);
    n->len = len;
}

static int tree_rm(struct tree *t, const char *abs)
{
    if (strcmp(abs, "/") == 0)
        return -XENABI_EINVAL;
    if (find(t, abs) < 0) {
        /* xenstored: removing a missing child of an existing node is fine */
        char parent[XENABI_XENSTORE_ABS_PATH_MAX + 1];
        snprintf(parent, sizeof(parent), "%s", abs);
        char *slash = strrchr(parent, '/');
        if (slash == parent)
            slash[1] = '\0';
        else
            *slash = '\0';
        return find(t, parent) >= 0 ? 0 : -XENABI_ENOENT;
    }
    size_t kept = 0;
    for (size_t i = 0; i < t->count; i++) {
        if (at_or_below(t->nodes[i].path, abs)) {
            free(t->nodes[i].path);
            free(t->nodes[i].value);
        } else {
            t->nodes[kept++] = t->nodes[i];
        }
    }
    t->count = kept;
    return 0;
}

/* ---- watches ---------------------------------------------------------------------------- */

static void fire_one(const struct watch *w, const char *path)
{
    const char *shown = path;
    size_t home = strlen(HOME);
    if (w->relative && strncmp(path, HOME "/", home + 1) == 0)
        shown = path + home + 1;
    sim_xenstored_queue_event(shown, w->token);
}

/* A change at `abs`: watches at or above it fire with `abs`; for a
 * removal, watches below it fire with their own path. */
static void fire(const char *abs, bool removed)
{
    for (size_t i = 0; i < MAX_WATCHES; i++) {
        const struct watch *w = &st.watches[i];
        if (!w->used)
            continue;
        if (at_or_below(abs, w->abs))
            fire_one(w, abs);
        else if (removed && at_or_below(w->abs, abs))
            fire_one(w, w->abs);
    }
}

int sim_store_watch_guest(const char *path, const char *token)
{
    char buf[XENABI_XENSTORE_ABS_PATH_MAX + 1];
    const char *abs = sim_store_abspath(path, buf, sizeof(buf));
    if (abs == NULL)
        return -XENABI_EINVAL;
    for (size_t i = 0; i < MAX_WATCHES; i++) {
        struct watch *w = &st.watches[i];
        if (w->used && strcmp(w->path, path) == 0
            && strcmp(w->token, token) == 0)
            return -XENABI_EEXIST;
    }
    for (size_t i = 0; i < MAX_WATCHES; i++) {
        struct watch *w = &st.watches[i];
        if (w->used)
            continue;
        *w = (struct watch){
            .used = true,
            .path = dup_str(path),
            .abs = dup_str(abs),
            .relative = path[0] != '/',
            .token = dup_str(token),
        };
        /* xenstored fires a new watch once, with the path as given. */
        fire_one(w, w->abs);
        return 0;
    }
    return -XENABI_ENOSPC;
}

static void free_watch(struct watch *w)
{
    free(w->path);
    free(w->abs);
    free(w->token);
    *w = (struct watch){0};
}

int sim_store_unwatch_guest(const char *path, const char *token)
{
    for (size_t i = 0; i < MAX_WATCHES; i++) {
        struct watch *w = &st.watches[i];
        if (w->used && strcmp(w->path, path) == 0
            && strcmp(w->token, token) == 0) {
            free_watch(w);
            return 0;
        }
    }
    return -XENABI_ENOENT;
}

/* ---- operations, live or in a transaction -------------------------------------------------- */

static struct tx *find_tx(uint32_t id)
{
    for (size_t i = 0; i < MAX_TX; i++)
        if (st.txs[i].id != 0 && st.txs[i].id == id)
            return &st.txs[i];
    return NULL;
}

/* The tree an operation works on; NULL for an unknown transaction. */
static struct tree *tree_of(uint32_t tx)
{
    if (tx == 0)
        return &st.live;
    struct tx *t = find_tx(tx);
    return t != NULL ? &t->tree : NULL;
}

/* After a change: fire watches now (live) or at commit (transaction). */
static void changed(uint32_t tx, const char *abs, bool removed)
{
    if (tx == 0) {
        st.gen++;
        fire(abs, removed);
        return;
    }
    struct tx *t = find_tx(tx);
    t->changes = realloc(t->changes, (t->nchanges + 1) * sizeof(*t->changes));
    if (t->changes == NULL)
        sim_fatal("out of memory");
    t->changes[t->nchanges++] = (struct change){dup_str(abs), removed};
}

int sim_store_read(uint32_t tx, const char *abs, char *buf, size_t size,
                   size_t *len)
{
    struct tree *t = tree_of(tx);
    if (t == NULL)
        return -XENABI_ENOENT;
    long i = find(t, abs);
    if (i < 0)
        return -XENABI_ENOENT;
    const struct node *n = &t->nodes[i];
    *len = n->len;
    if (n->len > size)
        return -XENABI_E2BIG;
    memcpy(buf, n->value, n->len);
    return 0;
}

int sim_store_write(uint32_t tx, const char *abs, const void *value,
                    size_t len)
{
    struct tree *t = tree_of(tx);
    if (t == NULL)
        return -XENABI_ENOENT;
    tree_write(t, abs, value, len);
    changed(tx, abs, false);
    return 0;
}

int sim_store_mkdir(uint32_t tx, const char *abs)
{
    struct tree *t = tree_of(tx);
    if (t == NULL)
        return -XENABI_ENOENT;
    if (find(t, abs) >= 0)
        return 0;
    make_path(t, abs);
    changed(tx, abs, false);
    return 0;
}

int sim_store_rm(uint32_t tx, const char *abs)
{
    struct tree *t = tree_of(tx);
    if (t == NULL)
        return -XENABI_ENOENT;
    bool existed = find(t, abs) >= 0;
    int rc = tree_rm(t, abs);
    if (rc == 0 && existed)
        changed(tx, abs, true);
    return rc;
}

int sim_store_directory(uint32_t tx, const char *abs, char *buf,
                        size_t size)
{
    struct tree *t = tree_of(tx);
    if (t == NULL || find(t, abs) < 0)
        return -XENABI_ENOENT;
    size_t dir_len = strcmp(abs, "/") == 0 ? 0 : strlen(abs);
    size_t used = 0;
    for (size_t i = 0; i < t->count; i++) {
        const char *p = t->nodes[i].path;
        if (strncmp(p, abs, dir_len) != 0 || p[dir_len] != '/'
            || p[dir_len + 1] == '\0' || strchr(p + dir_len + 1, '/') != NULL)
            continue;
        size_t n = strlen(p + dir_len + 1) + 1;
        if (used + n > size)
            return -XENABI_E2BIG;
        memcpy(buf + used, p + dir_len + 1, n);
        used += n;
    }
    return (int)used;
}

int sim_store_tx_start(uint32_t *id)
{
    for (size_t i = 0; i < MAX_TX; i++) {
        struct tx *t = &st.txs[i];
        if (t->id != 0)
            continue;
        t->id = st.next_tx++;
        t->start_gen = st.gen;
        copy_tree(&t->tree, &st.live);
        *id = t->id;
        return 0;
    }
    return -XENABI_ENOSPC;
}

static void free_tx(struct tx *t)
{
    free_tree(&t->tree);
    for (size_t i = 0; i < t->nchanges; i++)
        free(t->changes[i].path);
    free(t->changes);
    *t = (struct tx){0};
}

int sim_store_tx_end(uint32_t id, bool commit)
{
    struct tx *t = find_tx(id);
    if (t == NULL)
        return -XENABI_ENOENT;
    if (!commit) {
        free_tx(t);
        return 0;
    }
    if (t->start_gen != st.gen) {
        free_tx(t);
        return -XENABI_EAGAIN;
    }
    free_tree(&st.live);
    st.live = t->tree;
    t->tree = (struct tree){0};
    if (t->nchanges > 0)
        st.gen++;
    for (size_t i = 0; i < t->nchanges; i++)
        fire(t->changes[i].path, t->changes[i].removed);
    free_tx(t);
    return 0;
}

void sim_store_reset(void)
{
    free_tree(&st.live);
    for (size_t i = 0; i < MAX_TX; i++)
        if (st.txs[i].id != 0)
            free_tx(&st.txs[i]);
    for (size_t i = 0; i < MAX_WATCHES; i++)
        if (st.watches[i].used)
            free_watch(&st.watches[i]);
    memset(&st, 0, sizeof(st));
    st.next_tx = 1;
    make_path(&st.live, HOME);
    tree_write(&st.live, HOME "/name", "guest", 5);
    tree_write(&st.live, HOME "/domid", "1", 1);
}

/* ---- the simulator's own access ------------------------------------------------------------ */

int sim_xs_write(const char *path, const char *value)
{
    char buf[XENABI_XENSTORE_ABS_PATH_MAX + 1];
    const char *abs = sim_store_abspath(path, buf, sizeof(buf));
    if (abs == NULL)
        sim_fatal("sim_xs_write: bad path \"%s\"", path);
    return sim_store_write(0, abs, value, strlen(value));
}

int sim_xs_read(const char *path, char *buf, size_t size)
{
    char pbuf[XENABI_XENSTORE_ABS_PATH_MAX + 1];
    const char *abs = sim_store_abspath(path, pbuf, sizeof(pbuf));
    if (abs == NULL || size == 0)
        sim_fatal("sim_xs_read: bad path \"%s\"", path);
    size_t len;
    int rc = sim_store_read(0, abs, buf, size - 1, &len);
    if (rc < 0)
        return rc;
    buf[len] = '\0';
    return (int)len;
}

int sim_xs_rm(const char *path)
{
    char buf[XENABI_XENSTORE_ABS_PATH_MAX + 1];
    const char *abs = sim_store_abspath(path, buf, sizeof(buf));
    if (abs == NULL)
        sim_fatal("sim_xs_rm: bad path \"%s\"", path);
    return sim_store_rm(0, abs);
}
