#include "CLinuxIO_i2c.h"
