// Linux ioctls and structs Swift imports badly (macros, variadic ioctl, unions), given real C
// symbols with a CLinuxIO_ prefix. One header per area; each is owned by the family that uses it.
#pragma once
#include "CLinuxIO_serial.h"
#include "CLinuxIO_i2c.h"
#include "CLinuxIO_socket.h"
#include "CLinuxIO_time.h"
#include "CLinuxIO_thread.h"
