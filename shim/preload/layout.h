/* Where the library's zeroed memory lies, so that the start of a process
 * touches few of its pages: each page of .bss first touched is a page
 * fault, and on a virtual machine a fault costs more than the rest of a
 * start's own work (bench/NOTES.md, B6).
 *
 * BIG_TABLE puts a table of kilobytes (the descriptor and connection
 * tables, the process's own record, the environment's text) in the ELF
 * large-bss section, which the linker places after .bss. The small
 * variables left in .bss then lie together, on the page the loader
 * already wrote when it cleared the tail of .data's; a big table written
 * at start costs the pages it is written on, not the ones it lies over,
 * so its first fields are the ones a start writes. */
#ifndef ENACT_LAYOUT_H
#define ENACT_LAYOUT_H

#if defined(__x86_64__)
#define BIG_TABLE __attribute__((section(".lbss")))
#else
/* Elsewhere the compiler would give a section of that name file space
 * (megabytes of zeros): the tables stay in .bss. */
#define BIG_TABLE
#endif

#endif
