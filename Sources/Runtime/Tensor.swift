import Tensors

/// A value flowing through the executor: a shape (numpy order, outermost first) and typed
/// elements in row-major order.
///
/// The runtime computes in four element types; every source type maps to one of them (see
/// `ElementType.init(storing:)`). Storage is a Swift array, so copies are cheap until written.
public struct Tensor: Sendable {
    public enum ElementType: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
        case float32, int64, int32, bool

        /// The runtime type that holds values of a file's scalar type: floating types widen or
        /// narrow to float32, small integers to int32, wide integers to int64.
        public init(storing scalar: ScalarType) {
            switch scalar {
            case .f32, .f16, .bf16, .f64, .f8e4m3, .f8e5m2, .f8e8m0: self = .float32
            case .i8, .u8, .i16, .u16, .i32: self = .int32
            case .u32, .i64, .u64: self = .int64
            case .bool: self = .bool
            }
        }

        /// The file scalar type with the same layout.
        public var scalarType: ScalarType {
            switch self {
            case .float32: .f32
            case .int64: .i64
            case .int32: .i32
            case .bool: .bool
            }
        }

        public var byteSize: Int {
            switch self {
            case .float32, .int32: 4
            case .int64: 8
            case .bool: 1
            }
        }

        public var isInteger: Bool { self == .int64 || self == .int32 }

        public var description: String { rawValue }
    }

    public enum Storage: Sendable {
        case float32([Float])
        case int64([Int64])
        case int32([Int32])
        case bool([Bool])

        public var elementType: ElementType {
            switch self {
            case .float32: .float32
            case .int64: .int64
            case .int32: .int32
            case .bool: .bool
            }
        }

        public var count: Int {
            switch self {
            case .float32(let a): a.count
            case .int64(let a): a.count
            case .int32(let a): a.count
            case .bool(let a): a.count
            }
        }

        /// An empty array of `type`; empty arrays do not allocate.
        static func empty(_ type: ElementType) -> Storage {
            switch type {
            case .float32: .float32([])
            case .int64: .int64([])
            case .int32: .int32([])
            case .bool: .bool([])
            }
        }
    }

    public private(set) var shape: [Int]
    public private(set) var storage: Storage

    /// Fails when the element count of `shape` differs from the storage's.
    public init(shape: [Int], storage: Storage) throws {
        guard let count = Checked.product(shape) else {
            throw OpError("shape \(shape) has a negative dimension or too many elements")
        }
        guard count == storage.count else {
            throw OpError("shape \(shape) holds \(count) elements but \(storage.count) were given")
        }
        self.shape = shape
        self.storage = storage
    }

    public init(shape: [Int], floats: [Float]) throws { try self.init(shape: shape, storage: .float32(floats)) }
    public init(shape: [Int], int64s: [Int64]) throws { try self.init(shape: shape, storage: .int64(int64s)) }
    public init(shape: [Int], int32s: [Int32]) throws { try self.init(shape: shape, storage: .int32(int32s)) }
    public init(shape: [Int], bools: [Bool]) throws { try self.init(shape: shape, storage: .bool(bools)) }

    /// For callers that derived `storage`'s length from `shape` themselves.
    init(unchecked shape: [Int], _ storage: Storage) {
        self.shape = shape
        self.storage = storage
    }

    /// A tensor of `type` with every element zero (false).
    public static func zeros(_ type: TensorType) -> Tensor {
        Tensor(unchecked: type.shape, storage(of: type.elementType, count: type.elementCount))
    }

    static func storage(of type: ElementType, count: Int) -> Storage {
        switch type {
        case .float32: .float32([Float](repeating: 0, count: count))
        case .int64: .int64([Int64](repeating: 0, count: count))
        case .int32: .int32([Int32](repeating: 0, count: count))
        case .bool: .bool([Bool](repeating: false, count: count))
        }
    }

    public var elementType: ElementType { storage.elementType }
    public var count: Int { storage.count }
    public var rank: Int { shape.count }
    public var type: TensorType { TensorType(elementType, shape) }

    public var floats: [Float]? { if case .float32(let a) = storage { a } else { nil } }
    public var int64s: [Int64]? { if case .int64(let a) = storage { a } else { nil } }
    public var int32s: [Int32]? { if case .int32(let a) = storage { a } else { nil } }
    public var bools: [Bool]? { if case .bool(let a) = storage { a } else { nil } }

    /// The elements as float32, whatever the element type (false/true as 0/1).
    public func floatValues() -> [Float] {
        switch storage {
        case .float32(let a): a
        case .int64(let a): a.map { Float($0) }
        case .int32(let a): a.map { Float($0) }
        case .bool(let a): a.map { $0 ? 1 : 0 }
        }
    }

    /// The elements of an integer tensor as Int (shape arguments such as axes, starts, sizes).
    public func integerValues() throws -> [Int] {
        switch storage {
        case .int64(let a): return a.map { Int($0) }
        case .int32(let a): return a.map { Int($0) }
        default: throw OpError("expected an integer tensor, got \(elementType)")
        }
    }

    /// Element `i` of an integer tensor as Int, without copying the elements (a kernel's hot
    /// path reads token ids and positions this way).
    public func integer(at i: Int) throws -> Int {
        switch storage {
        case .int64(let a): return Int(a[i])
        case .int32(let a): return Int(a[i])
        default: throw OpError("expected an integer tensor, got \(elementType)")
        }
    }

    /// The same elements with another shape of equal element count.
    public func reshaped(_ newShape: [Int]) throws -> Tensor {
        try Tensor(shape: newShape, storage: storage)
    }

    /// Read access to the elements as `T`; fails when the tensor holds another type.
    public func withUnsafeBuffer<T: TensorElement, R>(of _: T.Type, _ body: (UnsafeBufferPointer<T>) throws -> R) throws -> R {
        guard let array = T.unwrap(storage) else {
            throw OpError("expected \(T.elementType), got \(elementType)")
        }
        return try array.withUnsafeBufferPointer { try body($0) }
    }

    /// Write access to the elements as `T`, without copying when this tensor holds the only
    /// reference to its storage.
    public mutating func withUnsafeMutableBuffer<T: TensorElement, R>(
        of _: T.Type, _ body: (UnsafeMutableBufferPointer<T>) throws -> R
    ) throws -> R {
        guard var array = T.unwrap(storage) else {
            throw OpError("expected \(T.elementType), got \(elementType)")
        }
        // Drop our own reference first, so `array` is uniquely referenced and is written in place.
        storage = .bool([])
        defer { storage = T.wrap(array) }
        return try array.withUnsafeMutableBufferPointer { try body($0) }
    }

    /// The element bytes, whatever the type (bool elements are one byte, 0 or 1).
    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        switch storage {
        case .float32(let a): try a.withUnsafeBytes(body)
        case .int64(let a): try a.withUnsafeBytes(body)
        case .int32(let a): try a.withUnsafeBytes(body)
        case .bool(let a): try a.withUnsafeBytes(body)
        }
    }

    /// Writable element bytes. Callers write only valid element values (0 or 1 into bools).
    mutating func withUnsafeMutableBytes<R>(_ body: (UnsafeMutableRawBufferPointer) throws -> R) rethrows -> R {
        switch storage {
        case .float32(var a):
            storage = .bool([])
            defer { storage = .float32(a) }
            return try a.withUnsafeMutableBytes(body)
        case .int64(var a):
            storage = .bool([])
            defer { storage = .int64(a) }
            return try a.withUnsafeMutableBytes(body)
        case .int32(var a):
            storage = .bool([])
            defer { storage = .int32(a) }
            return try a.withUnsafeMutableBytes(body)
        case .bool(var a):
            storage = .bool([])
            defer { storage = .bool(a) }
            return try a.withUnsafeMutableBytes(body)
        }
    }

    /// Hands the storage over (leaving this tensor empty), for buffer reuse.
    mutating func takeStorage() -> Storage {
        let taken = storage
        storage = .bool([])
        shape = [0]
        return taken
    }

    /// A tensor of `type` built on `storage` (taken, leaving it empty), whose array is resized in place to the element
    /// count (its capacity, reserved when the plan was made, is kept). Elements keep whatever
    /// the buffer held: kernels write every output element.
    static func reusing(_ storage: inout Storage, as type: TensorType, reserving capacity: Int) -> Tensor {
        let count = type.elementCount
        func fit<T>(_ array: inout [T], _ zero: T) {
            if array.capacity < capacity { array.reserveCapacity(capacity) }
            if array.count > count {
                array.removeLast(array.count - count)
            } else if array.count < count {
                // Within the reserved capacity this never allocates in an optimized build, and
                // fills at memset speed: element by element, a prompt's buffers, regrown between
                // ops of 1536 and 4096 columns, took 3.5% of a 700M-shape model's prompt.
                array.append(contentsOf: repeatElement(zero, count: count - array.count))
            }
        }
        // Each case drops `storage`'s reference before resizing, so the array is resized in place.
        guard storage.elementType == type.elementType else {
            storage = .bool([])
            return Tensor(unchecked: type.shape, Tensor.storage(of: type.elementType, count: count))
        }
        // Switching over `storage` itself would keep a second reference to its array for the
        // whole switch, and resizing would then copy it; unwrapping and clearing first leaves
        // the array uniquely referenced, so it is resized in place.
        func refit<T: TensorElement>(_: T.Type, _ zero: T) -> Storage {
            guard var array = T.unwrap(storage) else { return Tensor.storage(of: type.elementType, count: count) }
            storage = .bool([])
            fit(&array, zero)
            return T.wrap(array)
        }
        let result: Storage
        switch type.elementType {
        case .float32: result = refit(Float.self, 0)
        case .int64: result = refit(Int64.self, 0)
        case .int32: result = refit(Int32.self, 0)
        case .bool: result = refit(Bool.self, false)
        }
        return Tensor(unchecked: type.shape, result)
    }
}

/// A Swift type that a tensor's elements can be viewed as.
public protocol TensorElement: Sendable {
    static var elementType: Tensor.ElementType { get }
    static func unwrap(_ storage: Tensor.Storage) -> [Self]?
    static func wrap(_ array: [Self]) -> Tensor.Storage
}

extension Float: TensorElement {
    public static var elementType: Tensor.ElementType { .float32 }
    public static func unwrap(_ storage: Tensor.Storage) -> [Float]? { if case .float32(let a) = storage { a } else { nil } }
    public static func wrap(_ array: [Float]) -> Tensor.Storage { .float32(array) }
}

extension Int64: TensorElement {
    public static var elementType: Tensor.ElementType { .int64 }
    public static func unwrap(_ storage: Tensor.Storage) -> [Int64]? { if case .int64(let a) = storage { a } else { nil } }
    public static func wrap(_ array: [Int64]) -> Tensor.Storage { .int64(array) }
}

extension Int32: TensorElement {
    public static var elementType: Tensor.ElementType { .int32 }
    public static func unwrap(_ storage: Tensor.Storage) -> [Int32]? { if case .int32(let a) = storage { a } else { nil } }
    public static func wrap(_ array: [Int32]) -> Tensor.Storage { .int32(array) }
}

extension Bool: TensorElement {
    public static var elementType: Tensor.ElementType { .bool }
    public static func unwrap(_ storage: Tensor.Storage) -> [Bool]? { if case .bool(let a) = storage { a } else { nil } }
    public static func wrap(_ array: [Bool]) -> Tensor.Storage { .bool(array) }
}
