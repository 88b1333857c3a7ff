/*
 * Device initialisation (virtio 1.x, 3.1.1) and configuration reads,
 * written against struct virtio_transport only.
 */
#include <errno.h>
#include <string.h>
#include <virtio/virtio.h>

/* A device that has not reset after this many reads of its status is
 * broken; a reset of a virtio device is synchronous in practice. */
#define RESET_POLLS 100000u
#define CONFIG_RETRIES 8u

int virtio_reset(struct virtio_dev *dev)
{
    dev->ops->set_status(dev, 0);
    for (unsigned i = 0; i < RESET_POLLS; i++)
        if (dev->ops->get_status(dev) == 0)
            return 0;
    return -EIO;
}

static void add_status(struct virtio_dev *dev, uint8_t bits)
{
    dev->ops->set_status(dev, (uint8_t)(dev->ops->get_status(dev) | bits));
}

void virtio_fail(struct virtio_dev *dev)
{
    add_status(dev, VIRTIO_STATUS_FAILED);
}

void virtio_driver_ok(struct virtio_dev *dev)
{
    add_status(dev, VIRTIO_STATUS_DRIVER_OK);
}

int virtio_negotiate(struct virtio_dev *dev, uint64_t wanted,
                     uint64_t required, uint64_t *out)
{
    if (virtio_reset(dev) != 0)
        return -EIO;
    add_status(dev, VIRTIO_STATUS_ACKNOWLEDGE);
    add_status(dev, VIRTIO_STATUS_DRIVER);
    uint64_t offered = dev->ops->device_features(dev);
    required |= VIRTIO_F_VERSION_1;
    uint64_t accepted = offered & (wanted | required);
    if ((accepted & required) != required) {
        virtio_fail(dev);
        return -ENOTSUP;
    }
    dev->ops->set_features(dev, accepted);
    add_status(dev, VIRTIO_STATUS_FEATURES_OK);
    if (!(dev->ops->get_status(dev) & VIRTIO_STATUS_FEATURES_OK)) {
        virtio_fail(dev);
        return -EIO;
    }
    dev->features = accepted;
    *out = accepted;
    return 0;
}

int virtio_config_read(struct virtio_dev *dev, uint32_t off, void *buf,
                       size_t len)
{
    if (off > VIRTIO_CONFIG_MAX || len > VIRTIO_CONFIG_MAX - off)
        return -EINVAL;
    uint8_t *p = buf;
    for (unsigned attempt = 0; attempt < CONFIG_RETRIES; attempt++) {
        uint32_t before = dev->ops->config_generation(dev);
        for (size_t i = 0; i < len; i++)
            p[i] = dev->ops->config_read8(dev, off + (uint32_t)i);
        if (dev->ops->config_generation(dev) == before)
            return 0;
    }
    return -EIO;
}

/* Command line parsing: "virtio_mmio.device=<size>@<addr>:<irq>". */

static const char MMIO_KEY[] = "virtio_mmio.device=";

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* An unsigned number at *s (0x: hex, else decimal); false if none or it
 * overflows. */
static bool parse_u64(const char **s, uint64_t *out)
{
    const char *p = *s;
    unsigned base = 10;
    uint64_t v = 0;
    bool any = false;

    if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
        base = 16;
        p += 2;
    }
    for (;; p++) {
        unsigned d;
        if (*p >= '0' && *p <= '9')
            d = (unsigned)(*p - '0');
        else if (base == 16 && *p >= 'a' && *p <= 'f')
            d = (unsigned)(*p - 'a' + 10);
        else if (base == 16 && *p >= 'A' && *p <= 'F')
            d = (unsigned)(*p - 'A' + 10);
        else
            break;
        if (v > (UINT64_MAX - d) / base)
            return false;
        v = v * base + d;
        any = true;
    }
    *s = p;
    *out = v;
    return any;
}

static bool parse_entry(const char *p, struct virtio_mmio_desc *d)
{
    uint64_t size, addr, irq;

    if (!parse_u64(&p, &size))
        return false;
    unsigned shift = 0;
    switch (*p) {
    case 'K': case 'k': shift = 10; p++; break;
    case 'M': case 'm': shift = 20; p++; break;
    case 'G': case 'g': shift = 30; p++; break;
    default: break;
    }
    if (size == 0 || size > (UINT64_MAX >> shift))
        return false;
    size <<= shift;
    if (*p++ != '@' || !parse_u64(&p, &addr) || *p++ != ':'
        || !parse_u64(&p, &irq) || irq > UINT32_MAX)
        return false;
    /* A second ":<id>" (Linux accepts a platform device id) is allowed. */
    if (*p == ':') {
        uint64_t id;
        p++;
        if (!parse_u64(&p, &id))
            return false;
    }
    if (*p != '\0' && !is_space(*p))
        return false;
    if (addr + size < addr)
        return false;
    *d = (struct virtio_mmio_desc){.addr = addr, .size = size,
                                   .irq = (uint32_t)irq};
    return true;
}

int virtio_mmio_parse_cmdline(const char *cmdline,
                              struct virtio_mmio_desc *out, size_t max,
                              const char **bad)
{
    size_t found = 0;
    const char *p = cmdline;

    while (*p != '\0') {
        while (is_space(*p))
            p++;
        if (*p == '\0')
            break;
        const char *word = p;
        while (*p != '\0' && !is_space(*p))
            p++;
        if ((size_t)(p - word) < sizeof(MMIO_KEY) - 1
            || memcmp(word, MMIO_KEY, sizeof(MMIO_KEY) - 1) != 0)
            continue;
        struct virtio_mmio_desc d;
        if (!parse_entry(word + sizeof(MMIO_KEY) - 1, &d)) {
            if (bad != NULL)
                *bad = word;
            return -EINVAL;
        }
        if (found < max)
            out[found] = d;
        if (found < (size_t)INT32_MAX)
            found++;
    }
    return (int)found;
}
