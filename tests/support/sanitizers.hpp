#pragma once
// Whether this build runs under AddressSanitizer (the asan preset), for the
// few tests whose size or measurement ASan distorts: ten times slower code,
// and freed memory held in quarantine.

namespace suz::test {

#if defined(__SANITIZE_ADDRESS__)
inline constexpr bool kUnderAsan = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
inline constexpr bool kUnderAsan = true;
#else
inline constexpr bool kUnderAsan = false;
#endif
#else
inline constexpr bool kUnderAsan = false;
#endif

}  // namespace suz::test
