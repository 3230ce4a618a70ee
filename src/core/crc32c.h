/* crc32c: CRC-32C (Castagnoli, polynomial 0x1EDC6F41 reflected = 0x82F63B78), the checksum
 * of iSCSI, ext4 metadata and most write-ahead logs; the CPU's crc32 instruction where there
 * is one, else a table; no library needed.
 *   crc32c(crc, p, n)       continues crc over n bytes at p; start with 0. crc32c of
 *                           "123456789" is 0xE3069283. Pure: no state besides a constant table.
 *   crc32c_table_way(...)   the same through the table always (tests compare the two). */
#ifndef SLUICE_CRC32C_H
#define SLUICE_CRC32C_H
#include <stddef.h>
#include <stdint.h>

uint32_t crc32c(uint32_t crc, const void *p, size_t n);
uint32_t crc32c_table_way(uint32_t crc, const void *p, size_t n);
#endif
