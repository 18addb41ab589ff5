// i2c-dev (I2C_FUNCS, I2C_SLAVE, I2C_RDWR, I2C_SMBUS) for FieldlinkI2C.
//
// The ioctl request numbers are macros and the argument structs hold pointers and a union, which Swift
// imports badly; each transaction is one real C function here, swift-nio CNIOLinux style. Every
// function returns -1 with errno set on failure (the kernel's answer: ENXIO/EREMOTEIO for a NACK,
// EOPNOTSUPP for a transfer the adapter cannot do), so the Swift layer maps errno in one place.
#pragma once
#include <stdint.h>

// I2C_FUNCS bits (linux/i2c.h), the subset the drivers decide on.
static const unsigned long CLinuxIO_I2C_FUNC_I2C = 0x00000001UL;
static const unsigned long CLinuxIO_I2C_FUNC_SMBUS_READ_BYTE = 0x00020000UL;
static const unsigned long CLinuxIO_I2C_FUNC_SMBUS_WRITE_BYTE = 0x00040000UL;
static const unsigned long CLinuxIO_I2C_FUNC_SMBUS_READ_BYTE_DATA = 0x00080000UL;
static const unsigned long CLinuxIO_I2C_FUNC_SMBUS_WRITE_BYTE_DATA = 0x00100000UL;
static const unsigned long CLinuxIO_I2C_FUNC_SMBUS_READ_WORD_DATA = 0x00200000UL;
static const unsigned long CLinuxIO_I2C_FUNC_SMBUS_WRITE_WORD_DATA = 0x00400000UL;
static const unsigned long CLinuxIO_I2C_FUNC_SMBUS_READ_I2C_BLOCK = 0x04000000UL;
static const unsigned long CLinuxIO_I2C_FUNC_SMBUS_WRITE_I2C_BLOCK = 0x08000000UL;
// The most an SMBus (i2c-)block transfer carries.
static const int CLinuxIO_I2C_SMBUS_BLOCK_MAX = 32;

/// open(path, O_RDWR | O_CLOEXEC): the adapter's /dev/i2c-N.
int CLinuxIO_i2c_open(const char *path);
/// ioctl(I2C_FUNCS): what the adapter can do.
int CLinuxIO_i2c_funcs(int fd, unsigned long *funcs);
/// ioctl(I2C_SLAVE): the address the SMBus calls and plain read()/write() go to.
int CLinuxIO_i2c_set_address(int fd, uint16_t address);
/// ioctl(I2C_RDWR) with one write message, one read message, or both (write, repeated start, read).
/// A zero length leaves that message out.
int CLinuxIO_i2c_write_read(int fd, uint16_t address, const uint8_t *write, uint16_t write_length,
                            uint8_t *read, uint16_t read_length);
/// ioctl(I2C_SMBUS) transfers, to the address set with CLinuxIO_i2c_set_address.
int CLinuxIO_i2c_smbus_read_byte(int fd, uint8_t *value);
int CLinuxIO_i2c_smbus_write_byte(int fd, uint8_t value);
int CLinuxIO_i2c_smbus_read_byte_data(int fd, uint8_t command, uint8_t *value);
int CLinuxIO_i2c_smbus_write_byte_data(int fd, uint8_t command, uint8_t value);
/// SMBus words travel low byte first.
int CLinuxIO_i2c_smbus_read_word_data(int fd, uint8_t command, uint16_t *value);
int CLinuxIO_i2c_smbus_write_word_data(int fd, uint8_t command, uint16_t value);
/// I2C-block read of `length` (1...32) bytes after the command byte; returns the count read.
int CLinuxIO_i2c_smbus_read_i2c_block(int fd, uint8_t command, uint8_t *buffer, uint8_t length);
int CLinuxIO_i2c_smbus_write_i2c_block(int fd, uint8_t command, const uint8_t *buffer, uint8_t length);
