// termios and RS-485 (TIOCSRS485, TIOCEXCL) for FieldlinkSerial.
#pragma once
