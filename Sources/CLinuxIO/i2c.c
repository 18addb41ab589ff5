#include "CLinuxIO_i2c.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <linux/i2c.h>
#include <linux/i2c-dev.h>

_Static_assert(CLinuxIO_I2C_SMBUS_BLOCK_MAX == I2C_SMBUS_BLOCK_MAX, "SMBus block size");
_Static_assert(CLinuxIO_I2C_FUNC_I2C == I2C_FUNC_I2C, "I2C_FUNC_I2C");
_Static_assert(CLinuxIO_I2C_FUNC_SMBUS_READ_WORD_DATA == I2C_FUNC_SMBUS_READ_WORD_DATA, "word data");
_Static_assert(CLinuxIO_I2C_FUNC_SMBUS_READ_I2C_BLOCK == I2C_FUNC_SMBUS_READ_I2C_BLOCK, "i2c block");

int CLinuxIO_i2c_open(const char *path) {
    return open(path, O_RDWR | O_CLOEXEC);
}

int CLinuxIO_i2c_funcs(int fd, unsigned long *funcs) {
    return ioctl(fd, I2C_FUNCS, funcs);
}

int CLinuxIO_i2c_set_address(int fd, uint16_t address) {
    return ioctl(fd, I2C_SLAVE, (unsigned long)address);
}

int CLinuxIO_i2c_write_read(int fd, uint16_t address, const uint8_t *write, uint16_t write_length,
                            uint8_t *read, uint16_t read_length) {
    struct i2c_msg messages[2];
    unsigned count = 0;
    if (write_length > 0) {
        // The kernel only reads a write message's buffer; the struct has no const.
        messages[count++] = (struct i2c_msg){.addr = address, .flags = 0, .len = write_length, .buf = (uint8_t *)write};
    }
    if (read_length > 0) {
        messages[count++] = (struct i2c_msg){.addr = address, .flags = I2C_M_RD, .len = read_length, .buf = read};
    }
    if (count == 0) return 0;
    struct i2c_rdwr_ioctl_data data = {.msgs = messages, .nmsgs = count};
    return ioctl(fd, I2C_RDWR, &data) < 0 ? -1 : 0;
}

static int smbus(int fd, uint8_t read_write, uint8_t command, uint32_t size, union i2c_smbus_data *data) {
    struct i2c_smbus_ioctl_data arguments = {.read_write = read_write, .command = command, .size = size, .data = data};
    return ioctl(fd, I2C_SMBUS, &arguments);
}

int CLinuxIO_i2c_smbus_read_byte(int fd, uint8_t *value) {
    union i2c_smbus_data data;
    if (smbus(fd, I2C_SMBUS_READ, 0, I2C_SMBUS_BYTE, &data) < 0) return -1;
    *value = data.byte;
    return 0;
}

int CLinuxIO_i2c_smbus_write_byte(int fd, uint8_t value) {
    return smbus(fd, I2C_SMBUS_WRITE, value, I2C_SMBUS_BYTE, NULL) < 0 ? -1 : 0;
}

int CLinuxIO_i2c_smbus_read_byte_data(int fd, uint8_t command, uint8_t *value) {
    union i2c_smbus_data data;
    if (smbus(fd, I2C_SMBUS_READ, command, I2C_SMBUS_BYTE_DATA, &data) < 0) return -1;
    *value = data.byte;
    return 0;
}

int CLinuxIO_i2c_smbus_write_byte_data(int fd, uint8_t command, uint8_t value) {
    union i2c_smbus_data data = {.byte = value};
    return smbus(fd, I2C_SMBUS_WRITE, command, I2C_SMBUS_BYTE_DATA, &data) < 0 ? -1 : 0;
}

int CLinuxIO_i2c_smbus_read_word_data(int fd, uint8_t command, uint16_t *value) {
    union i2c_smbus_data data;
    if (smbus(fd, I2C_SMBUS_READ, command, I2C_SMBUS_WORD_DATA, &data) < 0) return -1;
    *value = data.word;
    return 0;
}

int CLinuxIO_i2c_smbus_write_word_data(int fd, uint8_t command, uint16_t value) {
    union i2c_smbus_data data = {.word = value};
    return smbus(fd, I2C_SMBUS_WRITE, command, I2C_SMBUS_WORD_DATA, &data) < 0 ? -1 : 0;
}

int CLinuxIO_i2c_smbus_read_i2c_block(int fd, uint8_t command, uint8_t *buffer, uint8_t length) {
    if (length == 0 || length > I2C_SMBUS_BLOCK_MAX) { errno = EINVAL; return -1; }
    union i2c_smbus_data data;
    data.block[0] = length;
    if (smbus(fd, I2C_SMBUS_READ, command, I2C_SMBUS_I2C_BLOCK_DATA, &data) < 0) return -1;
    uint8_t count = data.block[0] < length ? data.block[0] : length;
    memcpy(buffer, &data.block[1], count);
    return count;
}

int CLinuxIO_i2c_smbus_write_i2c_block(int fd, uint8_t command, const uint8_t *buffer, uint8_t length) {
    if (length == 0 || length > I2C_SMBUS_BLOCK_MAX) { errno = EINVAL; return -1; }
    union i2c_smbus_data data;
    data.block[0] = length;
    memcpy(&data.block[1], buffer, length);
    return smbus(fd, I2C_SMBUS_WRITE, command, I2C_SMBUS_I2C_BLOCK_DATA, &data) < 0 ? -1 : 0;
}
