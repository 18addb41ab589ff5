// termios and RS-485 (TIOCSRS485, TIOCEXCL) for FieldlinkSerial.
//
// termios flag macros, the Bxxx speed constants, the variadic ioctl() and struct serial_rs485 import
// badly (or not at all) into Swift; each gets one plain C function here. Every function returns 0 (or
// a file descriptor) on success and -1 with errno set on failure, and retries EINTR itself.
#pragma once

/// Flow control on the line.
typedef enum {
    CLinuxIO_flow_none = 0,
    CLinuxIO_flow_rtscts = 1,
    CLinuxIO_flow_xonxoff = 2,
} CLinuxIO_flow;

/// Opens a serial device read/write, non-blocking, without making it the controlling terminal,
/// close-on-exec (open(2) with O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC).
int CLinuxIO_serial_open(const char *path);

/// Raw mode (cfmakeraw), the speed, character size, parity ('N', 'E', 'O'), stop bits and flow
/// control, VMIN = VTIME = 0 (reads never block; poll() does the waiting), then tcsetattr(TCSANOW).
/// An unsupported baud rate fails with EINVAL.
int CLinuxIO_serial_configure(int fd, int baud, char parity, int data_bits, int stop_bits, CLinuxIO_flow flow);

/// True (1) when the baud rate has a termios speed constant.
int CLinuxIO_serial_baud_supported(int baud);

/// Exclusive mode: further open(2)s of the tty fail with EBUSY (ioctl TIOCEXCL).
int CLinuxIO_serial_set_exclusive(int fd);

/// The kernel's RS-485 mode (ioctl TIOCSRS485): the UART driver switches the transceiver (RTS)
/// around each write. Ports whose driver lacks it (a pty, most USB adapters) fail with ENOTTY or EINVAL.
int CLinuxIO_serial_set_rs485(int fd, int rts_on_send, unsigned delay_before_ms, unsigned delay_after_ms);

/// Discards bytes received but not read (tcflush TCIFLUSH).
int CLinuxIO_serial_flush_input(int fd);

/// Waits up to timeout_ms for input; returns 1 when readable, 0 on timeout, -1 with errno; a hang-up
/// or error on the descriptor (the device went away) is -1 with errno EIO.
int CLinuxIO_serial_wait_readable(int fd, int timeout_ms);

/// Waits up to timeout_ms until the descriptor takes output; as CLinuxIO_serial_wait_readable.
int CLinuxIO_serial_wait_writable(int fd, int timeout_ms);

/// 1 when the tty is in exclusive mode, 0 when not (ioctl TIOCGEXCL, Linux 3.8+).
int CLinuxIO_serial_is_exclusive(int fd);
