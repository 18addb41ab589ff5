#include "CLinuxIO_serial.h"
