// i2c-dev (I2C_FUNCS, I2C_SLAVE, I2C_RDWR, I2C_SMBUS) for FieldlinkI2C.
#pragma once
