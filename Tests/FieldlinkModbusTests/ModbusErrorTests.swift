import CModbus
@testable import FieldlinkModbus
import Testing
#if canImport(Glibc)
import Glibc
#endif

@Suite struct ModbusErrorTests {
    @Test(arguments: [
        (ModbusException.illegalFunction, 1, "illegal function"),
        (.illegalDataAddress, 2, "illegal data address"),
        (.illegalDataValue, 3, "illegal data value"),
        (.serverDeviceFailure, 4, "server device failure"),
        (.acknowledge, 5, "acknowledge"),
        (.serverDeviceBusy, 6, "server device busy"),
        (.negativeAcknowledge, 7, "negative acknowledge"),
        (.memoryParityError, 8, "memory parity error"),
        (.gatewayPathUnavailable, 10, "gateway path unavailable"),
        (.gatewayTargetFailedToRespond, 11, "gateway target device failed to respond"),
    ])
    func exceptionsAreNamedAsInTheSpecification(exception: ModbusException, code: Int, name: String) {
        #expect(exception.rawValue == code)
        #expect(ModbusException(rawValue: code) == exception)
        #expect(exception.description == name)
        #expect(ModbusError(code: .exception(exception), detail: "ignored").description == "Modbus exception \(code) (\(name))")
    }

    @Test func thereIsNoExceptionNine() {
        #expect(ModbusException(rawValue: 9) == nil)
        #expect(ModbusException(rawValue: 0) == nil)
        #expect(ModbusException(rawValue: 12) == nil)
    }

    @Test func timeoutAndOtherErrorsDescribeThemselves() {
        #expect(ModbusError(code: .timeout, detail: "read 0: no response (timeout)").description == "no response (timeout)")
        #expect(ModbusError(code: .port, detail: "open /dev/ttyUSB0: No such file or directory").description
            == "open /dev/ttyUSB0: No such file or directory")
    }

    @Test func errnoMapsToTypedErrors() {
        #expect(ModbusError.fromErrno(ETIMEDOUT, operation: "read").code == .timeout)
        #expect(ModbusError.fromErrno(EINVAL, operation: "read").code == .invalidArgument)
        #expect(ModbusError.fromErrno(ENOENT, operation: "open").code == .port)
        #expect(ModbusError.fromErrno(ENOENT, operation: "open").detail.hasPrefix("open: "))
    }

    @Test func libmodbusExceptionErrnosMapToExceptions() {
        #expect(ModbusError.fromErrno(cmodbus_errno_illegal_function(), operation: "read").code == .exception(.illegalFunction))
        #expect(ModbusError.fromErrno(cmodbus_errno_exception_base() + 2, operation: "read").code == .exception(.illegalDataAddress))
        #expect(ModbusError.fromErrno(cmodbus_errno_exception_base() + 11, operation: "read").code
            == .exception(.gatewayTargetFailedToRespond))
    }

    @Test func damagedAnswersAreBadResponsesAndCRCErrorsAreToldApart() {
        #expect(ModbusError.fromErrno(cmodbus_errno_bad_crc(), operation: "read").code == .badCRC)
        for number in [cmodbus_errno_bad_data(), cmodbus_errno_bad_exception(), cmodbus_errno_bad_slave(),
                       cmodbus_errno_message_too_long(), cmodbus_errno_unknown_exception()] {
            #expect(ModbusError.fromErrno(number, operation: "read").code == .badResponse)
        }
    }

    @Test func ourLimitsAreLibmodbusLimits() {
        #expect(Int(cmodbus_max_read_registers()) == ModbusLimits.maxRegistersPerRead)
        #expect(Int(cmodbus_max_read_bits()) == ModbusLimits.maxBitsPerRead)
    }
}

@Suite struct NoAnswerTests {
    @Test(arguments: [
        (ModbusError.Code.timeout, true), (.badCRC, true), (.badResponse, true),
        (.exception(.gatewayPathUnavailable), true), (.exception(.gatewayTargetFailedToRespond), true),
        (.exception(.illegalDataAddress), false), (.exception(.serverDeviceBusy), false), (.port, false), (.invalidArgument, false),
    ])
    func whatCountsAsNoAnswerForBackoff(code: ModbusError.Code, silent: Bool) {
        #expect(ModbusError(code: code, detail: "").meansNoAnswer == silent)
    }
}
