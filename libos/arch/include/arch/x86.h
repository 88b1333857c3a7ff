/*
 * arch/x86.h - thin wrappers around privileged and special x86-64
 * instructions.
 *
 * Every wrapper is a static inline around a single instruction (or a
 * short fixed sequence), so callers in C never need inline assembly of
 * their own. The "memory" clobbers mark the wrappers that must not be
 * reordered with surrounding loads and stores (I/O ports, control
 * registers, MSRs); pure queries such as cpuid carry none.
 *
 * Nothing here knows about any particular device or boot protocol.
 */
#ifndef ARCH_X86_H
#define ARCH_X86_H

#include <stdint.h>

/* Control register bits the boot path and drivers care about. */
#define X86_CR0_PE (1u << 0)          /* protected mode */
#define X86_CR0_MP (1u << 1)          /* WAIT honours CR0.TS */
#define X86_CR0_EM (1u << 2)          /* x87/SSE emulation: must be clear */
#define X86_CR0_TS (1u << 3)          /* task switched: lazy FPU trap */
#define X86_CR0_ET (1u << 4)          /* hardwired to 1 on modern CPUs */
#define X86_CR0_NE (1u << 5)          /* native x87 error reporting */
#define X86_CR0_WP (1u << 16)         /* ring 0 honours read-only pages */
#define X86_CR0_PG (1u << 31)         /* paging */

#define X86_CR4_PAE (1u << 5)         /* physical address extension */
#define X86_CR4_OSFXSR (1u << 9)      /* FXSAVE/FXRSTOR and SSE enabled */
#define X86_CR4_OSXMMEXCPT (1u << 10) /* SSE exceptions raise #XM */

#define X86_MSR_EFER 0xc0000080u
#define X86_EFER_LME (1u << 8)        /* long mode enable */
#define X86_EFER_NXE (1u << 11)       /* no-execute bit in page tables */

/* ---- I/O ports ------------------------------------------------------ */

static inline void outb(uint16_t port, uint8_t value)
{
    __asm__ volatile("outb %0, %1" : : "a"(value), "Nd"(port) : "memory");
}

static inline uint8_t inb(uint16_t port)
{
    uint8_t value;
    __asm__ volatile("inb %1, %0" : "=a"(value) : "Nd"(port) : "memory");
    return value;
}

static inline void outw(uint16_t port, uint16_t value)
{
    __asm__ volatile("outw %0, %1" : : "a"(value), "Nd"(port) : "memory");
}

static inline uint16_t inw(uint16_t port)
{
    uint16_t value;
    __asm__ volatile("inw %1, %0" : "=a"(value) : "Nd"(port) : "memory");
    return value;
}

static inline void outl(uint16_t port, uint32_t value)
{
    __asm__ volatile("outl %0, %1" : : "a"(value), "Nd"(port) : "memory");
}

static inline uint32_t inl(uint16_t port)
{
    uint32_t value;
    __asm__ volatile("inl %1, %0" : "=a"(value) : "Nd"(port) : "memory");
    return value;
}

/* ---- CPU identification and time ------------------------------------ */

/* The four registers CPUID returns for one leaf/subleaf. */
struct cpuid_regs {
    uint32_t eax, ebx, ecx, edx;
};

/*
 * Run CPUID for `leaf` and `subleaf` (ECX; ignored by leaves without
 * subleaves, but always set so results are deterministic).
 */
static inline struct cpuid_regs cpuid(uint32_t leaf, uint32_t subleaf)
{
    struct cpuid_regs r;
    __asm__ volatile("cpuid"
                     : "=a"(r.eax), "=b"(r.ebx), "=c"(r.ecx), "=d"(r.edx)
                     : "a"(leaf), "c"(subleaf));
    return r;
}

/*
 * Read the time-stamp counter. Not serialising: the CPU may execute it
 * early or late relative to neighbouring instructions, which is fine for
 * coarse timing and wrong for measuring a few instructions.
 */
static inline uint64_t rdtsc(void)
{
    uint32_t lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return ((uint64_t)hi << 32) | lo;
}

/* ---- Model-specific registers ---------------------------------------- */

static inline uint64_t rdmsr(uint32_t msr)
{
    uint32_t lo, hi;
    __asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr) : "memory");
    return ((uint64_t)hi << 32) | lo;
}

static inline void wrmsr(uint32_t msr, uint64_t value)
{
    __asm__ volatile("wrmsr"
                     :
                     : "c"(msr), "a"((uint32_t)value),
                       "d"((uint32_t)(value >> 32))
                     : "memory");
}

/* ---- Control registers ------------------------------------------------ */

static inline uint64_t read_cr0(void)
{
    uint64_t value;
    __asm__ volatile("mov %%cr0, %0" : "=r"(value) : : "memory");
    return value;
}

static inline void write_cr0(uint64_t value)
{
    __asm__ volatile("mov %0, %%cr0" : : "r"(value) : "memory");
}

/* After a page fault: the linear address that faulted. */
static inline uint64_t read_cr2(void)
{
    uint64_t value;
    __asm__ volatile("mov %%cr2, %0" : "=r"(value) : : "memory");
    return value;
}

static inline uint64_t read_cr3(void)
{
    uint64_t value;
    __asm__ volatile("mov %%cr3, %0" : "=r"(value) : : "memory");
    return value;
}

/* Writing CR3 also flushes the non-global TLB entries. */
static inline void write_cr3(uint64_t value)
{
    __asm__ volatile("mov %0, %%cr3" : : "r"(value) : "memory");
}

static inline uint64_t read_cr4(void)
{
    uint64_t value;
    __asm__ volatile("mov %%cr4, %0" : "=r"(value) : : "memory");
    return value;
}

static inline void write_cr4(uint64_t value)
{
    __asm__ volatile("mov %0, %%cr4" : : "r"(value) : "memory");
}

/* Drop the TLB entry for the page containing `addr`, after changing it. */
static inline void invlpg(const volatile void *addr)
{
    __asm__ volatile("invlpg (%0)" : : "r"(addr) : "memory");
}

/* ---- Interrupts and idling -------------------------------------------- */

/* Mask maskable interrupts (NMIs still arrive). */
static inline void cli(void)
{
    __asm__ volatile("cli" : : : "memory");
}

/* Unmask interrupts; takes effect after the next instruction. */
static inline void sti(void)
{
    __asm__ volatile("sti" : : : "memory");
}

/* Sleep until the next interrupt; with interrupts masked, forever. */
static inline void hlt(void)
{
    __asm__ volatile("hlt" : : : "memory");
}

/* Spin-wait hint: saves power and frees the sibling hyperthread. */
static inline void pause(void)
{
    __asm__ volatile("pause" : : : "memory");
}

#endif /* ARCH_X86_H */
