#ifndef FIELDLINK_CMODBUS_H
#define FIELDLINK_CMODBUS_H
#include <modbus/modbus.h>
#include <errno.h>

/* Swift cannot see these as constants: macros built from an expression. */
static inline int cmodbus_errno_illegal_function(void) { return EMBXILFUN; }
static inline int cmodbus_errno_exception_base(void) { return MODBUS_ENOBASE; }
static inline int cmodbus_errno_bad_crc(void) { return EMBBADCRC; }
static inline int cmodbus_errno_bad_data(void) { return EMBBADDATA; }
static inline int cmodbus_errno_bad_exception(void) { return EMBBADEXC; }
static inline int cmodbus_errno_bad_slave(void) { return EMBBADSLAVE; }
static inline int cmodbus_errno_message_too_long(void) { return EMBMDATA; }
static inline int cmodbus_errno_unknown_exception(void) { return EMBUNKEXC; }
static inline int cmodbus_max_read_registers(void) { return MODBUS_MAX_READ_REGISTERS; }
static inline int cmodbus_max_read_bits(void) { return MODBUS_MAX_READ_BITS; }
static inline int cmodbus_errno(void) { return errno; }
#endif
