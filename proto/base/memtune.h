/* memtune.h - how the programs (ddt, ddtargetd) ask the C library to treat
 * the large buffers they allocate and free all the time. */
#ifndef DDT_MEMTUNE_H
#define DDT_MEMTUNE_H

/* Keep freed buffers of up to 32 MiB in the heap for the next allocation
 * instead of returning them to the kernel. Call once, first thing in
 * main(). */
void memtune_keep_buffers(void);

#endif
