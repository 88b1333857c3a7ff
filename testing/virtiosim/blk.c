/* The simulated virtio-blk device: requests served from memory. */
#include <errno.h>
#include <string.h>
#include <virtiosim/virtiosim.h>

/* Protocol numbers, written out here so that the simulator does not
 * share the driver's header (a wrong constant would then agree). */
enum {
    T_IN = 0,
    T_OUT = 1,
    T_FLUSH = 4,
    S_OK = 0,
    S_IOERR = 1,
    S_UNSUPP = 2,
    F_FLUSH_BIT = 9,
};

static void put32(uint8_t *p, uint32_t v)
{
    for (unsigned i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

void vsim_blk_init(struct vsim_blk *b, uint8_t *disk, uint8_t *stable,
                   uint64_t sectors, uint64_t features, uint32_t blk_size,
                   uint32_t size_max, uint32_t seg_max, uint16_t queue_max)
{
    memset(b, 0, sizeof(*b));
    vsim_net_init(&b->dev, (const uint8_t[6]){0}, features);
    b->dev.dev.device_id = VIRTIO_ID_BLOCK;
    strcpy(b->dev.dev.name, "virtiosim-blk");
    memset(b->dev.config, 0, sizeof b->dev.config);
    for (unsigned i = 0; i < 8; i++)
        b->dev.config[i] = (uint8_t)(sectors >> (8 * i));
    put32(b->dev.config + 8, size_max);
    put32(b->dev.config + 12, seg_max);
    put32(b->dev.config + 20, blk_size);
    b->dev.q[0].max = queue_max;
    b->dev.q[1].max = 0;
    b->disk = disk;
    b->stable = stable;
    b->sectors = sectors;
    b->write_back = (features >> F_FLUSH_BIT) & 1;
    b->status_fault = -1;
    b->len_fault = -1;
    memset(disk, 0, sectors * 512);
    memset(stable, 0, sectors * 512);
}

size_t vsim_blk_take(struct vsim_blk *b, uint16_t *heads, size_t max)
{
    size_t n = 0;
    int head;
    while (n < max && (head = vsim_take_avail(&b->dev, 0)) >= 0)
        heads[n++] = (uint16_t)head;
    return n;
}

#define MAX_CHAIN 256

int vsim_blk_complete(struct vsim_blk *b, uint16_t head)
{
    struct vsim_queue *q = &b->dev.q[0];
    struct virtq_desc chain[MAX_CHAIN];
    size_t n = 0;
    uint16_t i = head;

    /* Copy the chain once, as a device would read it. */
    for (;;) {
        if (i >= q->size || n >= q->size || n >= MAX_CHAIN)
            goto malformed;
        chain[n] = q->desc[i];
        if (!(chain[n++].flags & VIRTQ_DESC_F_NEXT))
            break;
        i = chain[n - 1].next;
    }
    /* header (device reads 16 bytes), data..., status (device writes). */
    if (n < 2 || (chain[0].flags & VIRTQ_DESC_F_WRITE) || chain[0].len != 16
        || !(chain[n - 1].flags & VIRTQ_DESC_F_WRITE) || chain[n - 1].len < 1)
        goto malformed;
    uint32_t type, sector_lo, sector_hi;
    const uint8_t *h = (const uint8_t *)(uintptr_t)chain[0].addr;
    memcpy(&type, h, 4);
    memcpy(&sector_lo, h + 8, 4);
    memcpy(&sector_hi, h + 12, 4);
    uint64_t sector = (uint64_t)sector_hi << 32 | sector_lo;

    size_t data = 0;
    for (size_t k = 1; k + 1 < n; k++) {
        bool writes = chain[k].flags & VIRTQ_DESC_F_WRITE;
        if ((type == T_IN) != writes || chain[k].len == 0)
            goto malformed;
        if (chain[k].len > b->max_seg_len)
            b->max_seg_len = chain[k].len;
        data += chain[k].len;
    }
    if (n - 2 > b->max_segs)
        b->max_segs = (uint32_t)(n - 2);

    uint8_t status = S_OK;
    uint32_t used = 1; /* the status byte */
    if (type == T_IN || type == T_OUT) {
        if (data % 512 != 0 || sector >= b->sectors
            || data / 512 > b->sectors - sector) {
            status = S_IOERR;
        } else {
            size_t off = (size_t)sector * 512;
            for (size_t k = 1; k + 1 < n; k++) {
                uint8_t *buf = (uint8_t *)(uintptr_t)chain[k].addr;
                if (type == T_IN) {
                    if (b->fill_wrong)
                        memset(buf, 0xee, chain[k].len);
                    else
                        memcpy(buf, b->disk + off, chain[k].len);
                } else {
                    memcpy(b->disk + off, buf, chain[k].len);
                    if (!b->write_back)
                        memcpy(b->stable + off, buf, chain[k].len);
                }
                off += chain[k].len;
            }
            if (type == T_IN) {
                used += (uint32_t)data;
                b->reads++;
            } else {
                b->writes++;
            }
        }
    } else if (type == T_FLUSH) {
        if (data != 0)
            goto malformed;
        memcpy(b->stable, b->disk, b->sectors * 512);
        b->flushes++;
    } else {
        status = S_UNSUPP;
    }
    if (b->status_fault >= 0)
        status = (uint8_t)b->status_fault;
    *(uint8_t *)(uintptr_t)chain[n - 1].addr = status;
    vsim_push_used(&b->dev, 0, head,
                   b->len_fault >= 0 ? (uint32_t)b->len_fault : used);
    return 0;

malformed:
    b->bad_requests++;
    vsim_push_used(&b->dev, 0, head, 0);
    return -EIO;
}

size_t vsim_blk_serve(struct vsim_blk *b)
{
    uint16_t heads[MAX_CHAIN];
    size_t n = vsim_blk_take(b, heads, MAX_CHAIN);
    for (size_t i = 0; i < n; i++)
        (void)vsim_blk_complete(b, heads[i]);
    return n;
}

void vsim_blk_crash(struct vsim_blk *b)
{
    memcpy(b->disk, b->stable, b->sectors * 512);
}
