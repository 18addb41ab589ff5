#define _GNU_SOURCE
#include "CLinuxIO_serial.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/serial.h>
#include <poll.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

int CLinuxIO_serial_open(const char *path) {
    int fd;
    do {
        fd = open(path, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
    } while (fd < 0 && errno == EINTR);
    return fd;
}

static speed_t speed_for(int baud) {
    switch (baud) {
    case 50: return B50;
    case 75: return B75;
    case 110: return B110;
    case 134: return B134;
    case 150: return B150;
    case 200: return B200;
    case 300: return B300;
    case 600: return B600;
    case 1200: return B1200;
    case 1800: return B1800;
    case 2400: return B2400;
    case 4800: return B4800;
    case 9600: return B9600;
    case 19200: return B19200;
    case 38400: return B38400;
    case 57600: return B57600;
    case 115200: return B115200;
    case 230400: return B230400;
    case 460800: return B460800;
    case 500000: return B500000;
    case 576000: return B576000;
    case 921600: return B921600;
    case 1000000: return B1000000;
    case 1500000: return B1500000;
    case 2000000: return B2000000;
    default: return 0;
    }
}

int CLinuxIO_serial_baud_supported(int baud) { return speed_for(baud) != 0; }

int CLinuxIO_serial_configure(int fd, int baud, char parity, int data_bits, int stop_bits, CLinuxIO_flow flow) {
    speed_t speed = speed_for(baud);
    if (speed == 0) {
        errno = EINVAL;
        return -1;
    }
    struct termios settings;
    if (tcgetattr(fd, &settings) != 0) return -1;
    cfmakeraw(&settings);
    if (cfsetispeed(&settings, speed) != 0 || cfsetospeed(&settings, speed) != 0) return -1;

    settings.c_cflag &= ~(CSIZE | PARENB | PARODD | CSTOPB | CRTSCTS);
    settings.c_cflag |= CLOCAL | CREAD;
    switch (data_bits) {
    case 5: settings.c_cflag |= CS5; break;
    case 6: settings.c_cflag |= CS6; break;
    case 7: settings.c_cflag |= CS7; break;
    case 8: settings.c_cflag |= CS8; break;
    default: errno = EINVAL; return -1;
    }
    switch (parity) {
    case 'N': break;
    case 'E': settings.c_cflag |= PARENB; break;
    case 'O': settings.c_cflag |= PARENB | PARODD; break;
    default: errno = EINVAL; return -1;
    }
    if (parity != 'N') settings.c_iflag |= INPCK;
    if (stop_bits == 2) settings.c_cflag |= CSTOPB;

    settings.c_iflag &= ~(IXON | IXOFF | IXANY);
    switch (flow) {
    case CLinuxIO_flow_none: break;
    case CLinuxIO_flow_rtscts: settings.c_cflag |= CRTSCTS; break;
    case CLinuxIO_flow_xonxoff: settings.c_iflag |= IXON | IXOFF; break;
    default: errno = EINVAL; return -1;
    }
    settings.c_cc[VMIN] = 0;
    settings.c_cc[VTIME] = 0;
    int result;
    do {
        result = tcsetattr(fd, TCSANOW, &settings);
    } while (result != 0 && errno == EINTR);
    return result;
}

int CLinuxIO_serial_set_exclusive(int fd) { return ioctl(fd, TIOCEXCL); }

int CLinuxIO_serial_set_rs485(int fd, int rts_on_send, unsigned delay_before_ms, unsigned delay_after_ms) {
    struct serial_rs485 rs485;
    memset(&rs485, 0, sizeof rs485);
    rs485.flags = SER_RS485_ENABLED | (rts_on_send ? SER_RS485_RTS_ON_SEND : SER_RS485_RTS_AFTER_SEND);
    rs485.delay_rts_before_send = delay_before_ms;
    rs485.delay_rts_after_send = delay_after_ms;
    return ioctl(fd, TIOCSRS485, &rs485);
}

int CLinuxIO_serial_flush_input(int fd) { return tcflush(fd, TCIFLUSH); }

static int wait_for(int fd, short events, int timeout_ms) {
    struct pollfd entry = {.fd = fd, .events = events, .revents = 0};
    int result;
    do {
        result = poll(&entry, 1, timeout_ms);
    } while (result < 0 && errno == EINTR);
    if (result <= 0) return result;
    if (entry.revents & events) return 1;
    // POLLHUP, POLLERR or POLLNVAL without the event asked for: the device is gone.
    errno = (entry.revents & POLLNVAL) ? EBADF : EIO;
    return -1;
}

int CLinuxIO_serial_wait_readable(int fd, int timeout_ms) { return wait_for(fd, POLLIN, timeout_ms); }

int CLinuxIO_serial_wait_writable(int fd, int timeout_ms) { return wait_for(fd, POLLOUT, timeout_ms); }

int CLinuxIO_serial_is_exclusive(int fd) {
    int exclusive = 0;
    if (ioctl(fd, TIOCGEXCL, &exclusive) != 0) return -1;
    return exclusive != 0;
}
