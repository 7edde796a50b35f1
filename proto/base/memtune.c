/* memtune.c - glibc's malloc tuned for programs that allocate and free
 * multi-MiB buffers (READ replies, restore windows, containers) all day. */
#include "memtune.h"

#include <malloc.h>

/*
 * By default glibc serves each allocation over 128 KiB (a threshold that
 * grows to at most 32 MiB as such blocks are freed) with its own mmap and
 * gives it back with munmap, and trims the heap top back to the kernel as
 * soon as 128 KiB is free there. Every new buffer then starts as fresh
 * pages: a page fault and a zeroed page per 4 KiB, which in a virtual
 * machine whose host reclaims freed memory costs more than the copy that
 * fills the buffer (a restore spent a tenth of its client's time in
 * clear_page). Fixing both thresholds keeps such buffers in the heap and
 * reuses them; the price is a process that keeps its peak heap.
 */
void memtune_keep_buffers(void)
{
	(void)mallopt(M_MMAP_THRESHOLD, 32 << 20);
	(void)mallopt(M_TRIM_THRESHOLD, 256 << 20);
}
