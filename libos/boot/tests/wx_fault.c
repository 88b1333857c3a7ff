/*
 * Each W^X violation the sealed page tables must stop, chosen by the first
 * command-line word; every case must end in a page-fault report, never in
 * "survived".
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* x86-64 `ret`: harmless if it ever ran, so only the page tables stop it. */
static const uint8_t ret_insn[] = {0xc3};

/* Writable data that will hold code. */
static uint8_t data_code[16];

typedef void (*fn)(void);

static void write_text(void)
{
    /* volatile: the store must really happen, to our own code. */
    *(volatile uint8_t *)(uintptr_t)&write_text = 0xcc;
}

static void write_rodata(void)
{
    *(volatile uint8_t *)(uintptr_t)ret_insn = 0x90;
}

static void jump_data(void)
{
    memcpy(data_code, ret_insn, sizeof ret_insn);
    ((fn)(uintptr_t)data_code)();
}

static void jump_stack(void)
{
    uint8_t stack_code[16];

    memcpy(stack_code, ret_insn, sizeof ret_insn);
    ((fn)(uintptr_t)stack_code)();
}

static void write_page_tables(void)
{
    /* CR3 holds the physical (= virtual) address of the sealed PML4. */
    uint64_t cr3;
    __asm__ volatile("mov %%cr3, %0" : "=r"(cr3));
    *(volatile uint64_t *)(uintptr_t)(cr3 & ~UINT64_C(0xfff)) = 0;
}

/*
 * Recurse until the boot stack runs into its guard page. Each frame holds
 * a buffer the compiler cannot drop, and the call is not a tail call.
 */
static volatile uint64_t depth_limit = UINT64_MAX; /* never reached */

static __attribute__((noinline)) uint64_t recurse(uint64_t depth)
{
    volatile uint8_t frame[256];

    if (depth == depth_limit)
        return 0;
    frame[depth % sizeof frame] = (uint8_t)depth;
    return recurse(depth + 1) + frame[depth % sizeof frame];
}

static void stack_overflow(void)
{
    printf("depth %llu\n", (unsigned long long)recurse(0));
}

static void write_gdt(void)
{
    struct __attribute__((packed)) {
        uint16_t limit;
        uint64_t base;
    } gdtr;
    __asm__ volatile("sgdt %0" : "=m"(gdtr));
    *(volatile uint64_t *)(uintptr_t)gdtr.base = 0;
}

/*
 * Rewrite the page fault's own gate with the value it holds: harmless if
 * it lands, so only a read-only IDT stops it (a real attack would point
 * the gate at code of its choice).
 */
static void write_idt(void)
{
    struct __attribute__((packed)) {
        uint16_t limit;
        uint64_t base;
    } idtr;
    __asm__ volatile("sidt %0" : "=m"(idtr));
    volatile uint64_t *gate = (volatile uint64_t *)(uintptr_t)(idtr.base
                                                               + 14 * 16);
    *gate = *gate;
}

static const struct {
    const char *name;
    void (*run)(void);
} cases[] = {
    {"write-text", write_text},
    {"write-rodata", write_rodata},
    {"jump-data", jump_data},
    {"jump-stack", jump_stack},
    {"write-page-tables", write_page_tables},
    {"write-gdt", write_gdt},
    {"write-idt", write_idt},
    {"stack-overflow", stack_overflow},
};

int main(int argc, char **argv)
{
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        if (argc > 1 && strcmp(argv[1], cases[i].name) == 0) {
            printf("trying %s\n", cases[i].name);
            cases[i].run();
            printf("survived %s\n", cases[i].name);
            return 0;
        }
    }
    printf("usage: wx_fault CASE, one of:");
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        printf(" %s", cases[i].name);
    printf("\n");
    return 2;
}
