// Argument conversion for the addon: typed arrays are read in place (zero copy), numbers are range-checked,
// and every failure becomes a JS TypeError/RangeError naming the parameter, the expected and the received value.
#pragma once
#include <napi.h>

#include <cmath>
#include <cstring>
#include <string>
#include <vector>

namespace ssd::addon {

template <typename T>
struct View {
  T* data;
  size_t length;
};

inline std::string describe(const Napi::Value& v) {
  if (v.IsUndefined()) return "undefined";
  if (v.IsNull()) return "null";
  if (v.IsNumber()) {
    const double d = v.As<Napi::Number>().DoubleValue();
    if (std::isnan(d)) return "NaN";
    return Napi::Value(v).ToString().Utf8Value();
  }
  if (v.IsBoolean()) return v.As<Napi::Boolean>().Value() ? "true" : "false";
  if (v.IsString()) return "string";
  if (v.IsTypedArray()) {
    static const char* names[] = {"Int8Array",    "Uint8Array",    "Uint8ClampedArray", "Int16Array",
                                  "Uint16Array",  "Int32Array",    "Uint32Array",       "Float32Array",
                                  "Float64Array", "BigInt64Array", "BigUint64Array"};
    const auto ta = v.As<Napi::TypedArray>();
    const int t = static_cast<int>(ta.TypedArrayType());
    return std::string(t >= 0 && t <= 10 ? names[t] : "TypedArray") + " of length " +
           std::to_string(ta.ElementLength());
  }
  if (v.IsArray()) return "Array";
  if (v.IsFunction()) return "function";
  return "object";
}

[[noreturn]] inline void type_error(Napi::Env env, const std::string& expected, const char* name,
                                    const Napi::Value& v) {
  throw Napi::TypeError::New(env, "Expected " + expected + " for " + name + " but received " + describe(v));
}
[[noreturn]] inline void range_error(Napi::Env env, const std::string& expected, const char* name,
                                     const Napi::Value& v) {
  throw Napi::RangeError::New(env, "Expected " + expected + " for " + name + " but received " + describe(v));
}

// Start of a typed array's elements (byte offset applied). napi_get_typedarray_info also works for arrays on a
// SharedArrayBuffer, where TypedArray::ArrayBuffer() throws.
inline void* data_of(const Napi::Value& v) {
  void* data = nullptr;
  napi_typedarray_type type;
  size_t length = 0, offset = 0;
  napi_value buffer;
  if (napi_get_typedarray_info(v.Env(), v, &type, &length, &data, &buffer, &offset) != napi_ok)
    throw Napi::Error::New(v.Env(), "ssd-edge: cannot read the typed array");
  return data;
}

// double → float without undefined behaviour: values beyond the float range become ±Infinity.
inline float to_float(double d) {
  if (d > 3.4028234663852886e38) return __builtin_inff();
  if (d < -3.4028234663852886e38) return -__builtin_inff();
  return static_cast<float>(d);
}

template <typename T, napi_typedarray_type Type>
View<T> typed(const Napi::Value& v, const char* name, size_t multiple, const char* type_name, const char* unit) {
  const std::string expected = std::string(type_name) + (multiple > 1 ? std::string(" of length ") + unit : "");
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != Type) type_error(v.Env(), expected, name, v);
  const size_t len = v.As<Napi::TypedArray>().ElementLength();
  if (multiple > 1 && len % multiple != 0) type_error(v.Env(), expected, name, v);
  return {static_cast<T*>(data_of(v)), len};
}

inline View<const float> f32(const Napi::Value& v, const char* name, size_t multiple = 1, const char* unit = "") {
  auto r = typed<float, napi_float32_array>(v, name, multiple, "Float32Array", unit);
  return {r.data, r.length};
}
inline View<const double> f64(const Napi::Value& v, const char* name, size_t multiple = 1, const char* unit = "") {
  auto r = typed<double, napi_float64_array>(v, name, multiple, "Float64Array", unit);
  return {r.data, r.length};
}
inline View<const int32_t> i32(const Napi::Value& v, const char* name) {
  auto r = typed<int32_t, napi_int32_array>(v, name, 1, "Int32Array", "");
  return {r.data, r.length};
}

// A finite number in [lo, hi].
inline double number(const Napi::Value& v, const char* name, double lo, double hi, const char* expected) {
  if (!v.IsNumber()) type_error(v.Env(), "number", name, v);
  const double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= lo && d <= hi)) range_error(v.Env(), expected, name, v);
  return d;
}

// An integer count; -1 means "all" where allowed.
inline int64_t count(const Napi::Value& v, const char* name, bool allow_all) {
  if (!v.IsNumber()) type_error(v.Env(), "integer", name, v);
  const double d = v.As<Napi::Number>().DoubleValue();
  if (!(d == std::floor(d)) || d < (allow_all ? -1 : 0) || d > 2147483647.0)
    range_error(v.Env(), allow_all ? "integer in [0, 2147483647] (or -1 for all)" : "integer in [0, 2147483647]", name,
                v);
  return static_cast<int64_t>(d);
}

inline bool boolean(const Napi::Value& v, const char* name) {
  if (!v.IsBoolean()) type_error(v.Env(), "boolean", name, v);
  return v.As<Napi::Boolean>().Value();
}

inline Napi::Float32Array new_f32(Napi::Env env, const float* src, size_t n) {
  auto out = Napi::Float32Array::New(env, n);
  if (n) std::memcpy(out.Data(), src, n * sizeof(float));
  return out;
}
inline Napi::Int32Array new_i32(Napi::Env env, const std::vector<int32_t>& src) {
  auto out = Napi::Int32Array::New(env, src.size());
  if (!src.empty()) std::memcpy(out.Data(), src.data(), src.size() * sizeof(int32_t));
  return out;
}

}  // namespace ssd::addon
