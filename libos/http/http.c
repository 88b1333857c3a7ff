/*
 * http.c - the HTTP/1.1 request parser and response writer (<http/http.h>).
 */
#include <stdio.h>
#include <string.h>

#include <http/http.h>

/* tchar of RFC 9110 5.6.2: the bytes of a method or a field name. */
static bool is_tchar(unsigned char c)
{
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z')
        || (c >= 'A' && c <= 'Z'))
        return true;
    return c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* A field value's bytes: HTAB, SP, VCHAR, obs-text. */
static bool is_field_byte(unsigned char c)
{
    return c == '\t' || c == ' ' || (c >= 0x21 && c != 0x7f);
}

static bool is_ows(char c)
{
    return c == ' ' || c == '\t';
}

static char lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

/* s[0..len) equals the lower-case word, ignoring ASCII case. */
static bool same_word(const char *s, size_t len, const char *word)
{
    if (strlen(word) != len)
        return false;
    for (size_t i = 0; i < len; i++)
        if (lower(s[i]) != word[i])
            return false;
    return true;
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* method SP request-target SP HTTP-version, in line[0..len). 0 or a status. */
static int parse_request_line(const char *line, size_t len,
                              struct http_request *req)
{
    size_t i = 0;
    while (i < len && is_tchar((unsigned char)line[i]))
        i++;
    if (i == 0 || i >= len || line[i] != ' ')
        return 400;
    req->method_name = (struct http_slice){line, i};
    if (i == 3 && memcmp(line, "GET", 3) == 0)
        req->method = HTTP_GET;
    else if (i == 4 && memcmp(line, "HEAD", 4) == 0)
        req->method = HTTP_HEAD;
    else
        req->method = HTTP_OTHER; /* methods are case-sensitive */

    size_t t = ++i;
    while (i < len && line[i] != ' ') {
        unsigned char c = (unsigned char)line[i];
        if (c < 0x21 || c > 0x7e)
            return 400;
        i++;
    }
    if (i == t || i >= len)
        return 400;
    req->target = (struct http_slice){line + t, i - t};

    const char *v = line + i + 1;
    size_t vlen = len - i - 1;
    if (vlen != 8 || memcmp(v, "HTTP/", 5) != 0 || v[5] < '0' || v[5] > '9'
        || v[6] != '.' || v[7] < '0' || v[7] > '9')
        return 400;
    if (v[5] != '1')
        return 505;
    req->minor = v[7] == '0' ? 0 : 1; /* 1.x answers as 1.1 (RFC 9110 6.2) */
    return 0;
}

/* Decodes the target's path into req->path and checks its segments. */
static int decode_path(struct http_request *req)
{
    const char *t = req->target.p;
    size_t len = req->target.len;
    if (t[0] != '/')
        return 400; /* only origin-form: no "*", no absolute-form */
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        char c = t[i];
        if (c == '?')
            break;
        if (c == '#')
            return 400;
        if (c == '%') {
            int hi = i + 2 < len ? hex_value(t[i + 1]) : -1;
            int lo = i + 2 < len ? hex_value(t[i + 2]) : -1;
            if (hi < 0 || lo < 0)
                return 400;
            c = (char)(hi * 16 + lo);
            if (c == '\0')
                return 400;
            i += 2;
        }
        if (n == HTTP_PATH_MAX)
            return 414;
        req->path[n++] = c;
    }
    req->path[n] = '\0';
    req->path_len = n;
    /* No "." or ".." segment, including ones spelt %2e or split by %2f. */
    size_t seg = 1;
    for (size_t i = 1; i <= n; i++) {
        if (i == n || req->path[i] == '/') {
            size_t slen = i - seg;
            if ((slen == 1 && req->path[seg] == '.')
                || (slen == 2 && req->path[seg] == '.'
                    && req->path[seg + 1] == '.'))
                return 400;
            seg = i + 1;
        }
    }
    return 0;
}

/* 1*DIGIT into *out; 400 if not digits, 413 if above max. */
static int parse_length(const char *s, size_t len, uint64_t max,
                        uint64_t *out)
{
    if (len == 0)
        return 400;
    uint64_t v = 0;
    bool big = false;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return 400;
        unsigned d = (unsigned)(s[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            big = true;
        else
            v = v * 10 + d;
    }
    if (big || v > max)
        return 413;
    *out = v;
    return 0;
}

/* The tokens of a Connection field: close and keep-alive. */
static void parse_connection(const char *s, size_t len, bool *close,
                             bool *keep)
{
    size_t i = 0;
    while (i < len) {
        while (i < len && (is_ows(s[i]) || s[i] == ','))
            i++;
        size_t b = i;
        while (i < len && !is_ows(s[i]) && s[i] != ',')
            i++;
        if (same_word(s + b, i - b, "close"))
            *close = true;
        else if (same_word(s + b, i - b, "keep-alive"))
            *keep = true;
    }
}

struct head_state {
    unsigned hosts;
    bool has_length;
    bool conn_close;
    bool conn_keep;
};

/* One field line, line[0..len). 0 or a status. */
static int parse_field(const char *line, size_t len, struct http_request *req,
                       const struct http_limits *limits,
                       struct head_state *st)
{
    size_t i = 0;
    while (i < len && is_tchar((unsigned char)line[i]))
        i++;
    /* Also rejects obs-fold (a leading space) and space before ':'. */
    if (i == 0 || i >= len || line[i] != ':')
        return 400;
    const char *name = line;
    size_t nlen = i;
    size_t b = i + 1, e = len;
    for (size_t k = b; k < e; k++)
        if (!is_field_byte((unsigned char)line[k]))
            return 400;
    while (b < e && is_ows(line[b]))
        b++;
    while (e > b && is_ows(line[e - 1]))
        e--;
    const char *val = line + b;
    size_t vlen = e - b;

    if (same_word(name, nlen, "host")) {
        st->hosts++;
    } else if (same_word(name, nlen, "content-length")) {
        uint64_t v = 0;
        int s = parse_length(val, vlen, limits->max_body, &v);
        if (s != 0)
            return s;
        if (st->has_length && v != req->content_length)
            return 400;
        st->has_length = true;
        req->content_length = v;
        req->has_content_length = true;
    } else if (same_word(name, nlen, "transfer-encoding")) {
        return 501; /* no request bodies in transfer codings */
    } else if (same_word(name, nlen, "connection")) {
        parse_connection(val, vlen, &st->conn_close, &st->conn_keep);
    } else if (same_word(name, nlen, "if-none-match")) {
        req->has_if_none_match = true;
        req->if_none_match = (struct http_slice){val, vlen};
    }
    return 0;
}

enum http_parse_result http_parse(const char *buf, size_t len,
                                  const struct http_limits *limits,
                                  struct http_request *req, int *status)
{
    memset(req, 0, sizeof(*req));
    *status = 0;
    size_t start = 0;
    while (start + 1 < len && buf[start] == '\r' && buf[start + 1] == '\n')
        start += 2;

    /* Find the blank line ending the head, checking line endings, NUL
     * and the limits on the way. */
    size_t scan = len < limits->max_head ? len : limits->max_head;
    size_t line_start = start, end = 0, first_end = 0;
    unsigned lines = 0;
    for (size_t i = start; i < scan; i++) {
        char c = buf[i];
        if (c == '\0')
            goto bad;
        if (c == '\r') {
            if (i + 1 < len && buf[i + 1] != '\n')
                goto bad;
            continue;
        }
        if (c != '\n')
            continue;
        if (i == start || buf[i - 1] != '\r')
            goto bad; /* a bare LF */
        if (i - 1 == line_start) {
            end = i + 1;
            break;
        }
        if (lines == 0)
            first_end = i - 1;
        if (++lines > 1 + limits->max_headers) {
            *status = 431;
            return HTTP_PARSE_ERROR;
        }
        line_start = i + 1;
    }
    if (end == 0) {
        if (len < limits->max_head)
            return HTTP_PARSE_INCOMPLETE;
        *status = lines == 0 ? 414 : 431;
        return HTTP_PARSE_ERROR;
    }

    int s = parse_request_line(buf + start, first_end - start, req);
    if (s == 0)
        s = decode_path(req);
    struct head_state st = {0};
    size_t ls = first_end + 2;
    while (s == 0 && ls + 2 < end) {
        const char *crlf = memchr(buf + ls, '\r', end - ls);
        size_t le = (size_t)(crlf - buf);
        s = parse_field(buf + ls, le - ls, req, limits, &st);
        ls = le + 2;
    }
    if (s == 0 && (st.hosts > 1 || (req->minor == 1 && st.hosts == 0)))
        s = 400; /* RFC 9112 3.2: exactly one Host in HTTP/1.1 */
    if (s != 0) {
        *status = s;
        return HTTP_PARSE_ERROR;
    }
    req->keep_alive = req->minor == 1 ? !st.conn_close
                                      : (st.conn_keep && !st.conn_close);
    req->consumed = end + (size_t)req->content_length;
    return HTTP_PARSE_OK;
bad:
    *status = 400;
    return HTTP_PARSE_ERROR;
}

const char *http_reason(int status)
{
    switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 204: return "No Content";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 411: return "Length Required";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
    case 507: return "Insufficient Storage";
    default: return "Unknown";
    }
}

bool http_etag_match(struct http_slice inm, const char *etag)
{
    const char *s = inm.p;
    size_t len = inm.len, i = 0, elen = strlen(etag);
    if (len == 1 && s[0] == '*')
        return true;
    bool found = false;
    while (i < len) {
        while (i < len && (is_ows(s[i]) || s[i] == ','))
            i++;
        if (i == len)
            break;
        if (i + 1 < len && s[i] == 'W' && s[i + 1] == '/')
            i += 2;
        if (i >= len || s[i] != '"')
            return false;
        size_t b = i++;
        while (i < len && s[i] != '"') {
            unsigned char c = (unsigned char)s[i];
            if (c != 0x21 && (c < 0x23 || c == 0x7f))
                return false; /* not an etagc */
            i++;
        }
        if (i == len)
            return false;
        i++;
        if (i - b == elen && memcmp(s + b, etag, elen) == 0)
            found = true;
        while (i < len && is_ows(s[i]))
            i++;
        if (i < len && s[i] != ',')
            return false;
    }
    return found;
}

static bool header_safe(const char *s)
{
    return s == NULL || s[strcspn(s, "\r\n")] == '\0';
}

/* Appends "name: value\r\n" to buf[*n..cap); false if it does not fit. */
static bool add_field(char *buf, size_t cap, size_t *n, const char *name,
                      const char *value)
{
    int w = snprintf(buf + *n, cap - *n, "%s: %s\r\n", name, value);
    if (w < 0 || (size_t)w >= cap - *n)
        return false;
    *n += (size_t)w;
    return true;
}

size_t http_write_head(char *buf, size_t cap, const struct http_response *r)
{
    if (!header_safe(r->content_type) || !header_safe(r->etag)
        || !header_safe(r->allow) || cap == 0)
        return 0;
    int w = snprintf(buf, cap, "HTTP/1.1 %d %s\r\n", r->status,
                     http_reason(r->status));
    if (w < 0 || (size_t)w >= cap)
        return 0;
    size_t n = (size_t)w;
    char length[24];
    snprintf(length, sizeof(length), "%llu",
             (unsigned long long)r->content_length);
    bool ok = (!r->content_type
               || add_field(buf, cap, &n, "Content-Type", r->content_type))
              && (!r->send_length
                  || add_field(buf, cap, &n, "Content-Length", length))
              && (!r->etag || add_field(buf, cap, &n, "ETag", r->etag))
              && (!r->allow || add_field(buf, cap, &n, "Allow", r->allow))
              && add_field(buf, cap, &n, "Connection",
                           r->keep_alive ? "keep-alive" : "close");
    if (!ok || cap - n < 3)
        return 0;
    memcpy(buf + n, "\r\n", 3);
    return n + 2;
}

uint64_t http_body_bytes(const struct http_request *req,
                         const struct http_response *r)
{
    if ((req && req->method == HTTP_HEAD) || r->status < 200
        || r->status == 204 || r->status == 304)
        return 0;
    return r->content_length;
}

size_t http_log_line(char *buf, size_t cap, const char *name,
                     const char *peer, const struct http_request *req,
                     int status, uint64_t bytes)
{
    int w;
    if (req && req->method_name.len) {
        int tlen = req->target.len > HTTP_LOG_TARGET_MAX
                       ? HTTP_LOG_TARGET_MAX
                       : (int)req->target.len;
        w = snprintf(buf, cap, "%s: %s \"%.*s %.*s HTTP/1.%u\" %d %llu\n",
                     name, peer, (int)req->method_name.len,
                     req->method_name.p, tlen, req->target.p, req->minor,
                     status, (unsigned long long)bytes);
    } else {
        w = snprintf(buf, cap, "%s: %s \"-\" %d %llu\n", name, peer, status,
                     (unsigned long long)bytes);
    }
    if (w < 0 || cap == 0)
        return 0;
    return (size_t)w < cap ? (size_t)w : cap - 1;
}
