import Tensors

/// ONNX's element type numbers (TensorProto.DataType) and how they map to our scalar types.
///
/// The number is kept open (an Int32, as onnx.proto declares `data_type`), so a file from a
/// newer ONNX with a type we have never heard of still gets an error that names the number.
public enum ONNXDataType {
    /// The TensorProto.DataType number for each scalar type that ONNX also has.
    public static func number(of type: ScalarType) -> Int32 {
        switch type {
        case .f32: 1
        case .u8: 2
        case .i8: 3
        case .u16: 4
        case .i16: 5
        case .i32: 6
        case .i64: 7
        case .bool: 9
        case .f16: 10
        case .f64: 11
        case .u32: 12
        case .u64: 13
        case .bf16: 16
        case .f8e4m3: 17
        case .f8e5m2: 19
        case .f8e8m0: 24
        }
    }

    /// Our scalar type for an ONNX data type number, nil when ONNX's type has no equivalent
    /// (strings, complex numbers, the FNUZ float8 variants, the packed 2/4/6-bit types).
    public static func scalarType(_ number: Int32) -> ScalarType? {
        switch number {
        case 1: .f32
        case 2: .u8
        case 3: .i8
        case 4: .u16
        case 5: .i16
        case 6: .i32
        case 7: .i64
        case 9: .bool
        case 10: .f16
        case 11: .f64
        case 12: .u32
        case 13: .u64
        case 16: .bf16
        case 17: .f8e4m3
        case 19: .f8e5m2
        case 24: .f8e8m0
        default: nil
        }
    }

    /// ONNX's name for a data type number, for messages ("STRING (8)").
    public static func name(_ number: Int32) -> String {
        let names = [
            "UNDEFINED", "FLOAT", "UINT8", "INT8", "UINT16", "INT16", "INT32", "INT64", "STRING", "BOOL",
            "FLOAT16", "DOUBLE", "UINT32", "UINT64", "COMPLEX64", "COMPLEX128", "BFLOAT16", "FLOAT8E4M3FN",
            "FLOAT8E4M3FNUZ", "FLOAT8E5M2", "FLOAT8E5M2FNUZ", "UINT4", "INT4", "FLOAT4E2M1", "FLOAT8E8M0",
            "UINT2", "INT2", "FLOAT6E2M3", "FLOAT6E3M2",
        ]
        let known = number >= 0 && Int(number) < names.count ? names[Int(number)] : "unknown type"
        return "\(known) (\(number))"
    }
}
