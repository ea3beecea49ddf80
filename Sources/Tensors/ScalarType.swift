/// The element types of safetensors (and the plain, unblocked types every format shares).
///
/// Raw values are the dtype strings of the safetensors header, so a header value maps with
/// `ScalarType(rawValue:)` and prints back unchanged.
public enum ScalarType: String, CaseIterable, Sendable, Hashable {
    case bool = "BOOL"
    case u8 = "U8"
    case i8 = "I8"
    case u16 = "U16"
    case i16 = "I16"
    case u32 = "U32"
    case i32 = "I32"
    case u64 = "U64"
    case i64 = "I64"
    case f16 = "F16"
    case bf16 = "BF16"
    case f32 = "F32"
    case f64 = "F64"
    case f8e4m3 = "F8_E4M3"
    case f8e5m2 = "F8_E5M2"
    case f8e8m0 = "F8_E8M0"

    /// Bytes one element occupies.
    public var byteSize: Int {
        switch self {
        case .bool, .u8, .i8, .f8e4m3, .f8e5m2, .f8e8m0: 1
        case .u16, .i16, .f16, .bf16: 2
        case .u32, .i32, .f32: 4
        case .u64, .i64, .f64: 8
        }
    }
}

extension ScalarType {
    /// The floating-point types (F16, BF16, F32, F64 and the F8 formats).
    public var isFloatingPoint: Bool {
        switch self {
        case .f16, .bf16, .f32, .f64, .f8e4m3, .f8e5m2, .f8e8m0: true
        default: false
        }
    }
}
