/* qid: queue ids and clocks. A queue id is a 64-bit number: the wall clock in microseconds
 * shifted left 12 bits, or'ed with the low 12 bits of the pid; within one process ids are
 * strictly increasing. Text form: 16 upper-case hex digits. The queue store refuses a
 * duplicate id (MDB_NOOVERWRITE), so a collision between processes is a temporary failure,
 * never an overwrite. */
#ifndef SLUICE_QID_H
#define SLUICE_QID_H
#include <stdint.h>

#define QID_TEXT_LEN 16

uint64_t qid_next(void);
/* Writes 16 hex digits and a NUL into buf (at least 17 bytes). Returns buf. */
char *qid_to_text(uint64_t id, char *buf);
/* Parses 16 hex digits; 0 on success, -1 otherwise. */
int qid_from_text(const char *s, uint64_t *id);
/* Wall clock in milliseconds since the epoch. */
int64_t clock_wall_ms(void);
/* Monotonic clock in milliseconds. */
int64_t clock_mono_ms(void);
/* Monotonic clock in microseconds (latency measurements). */
int64_t clock_mono_us(void);
#endif
