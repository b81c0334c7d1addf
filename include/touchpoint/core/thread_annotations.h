// core/thread_annotations.h — Clang thread-safety annotations (leveldb's port/thread_annotations.h).
// `std::mutex mu_; int n_ TP_GUARDED_BY(mu_);` documents which mutex protects a member; Clang's
// -Wthread-safety checks it, other compilers ignore it.
#pragma once

#if defined(__clang__)
#define TP_THREAD_ANNOTATION(x) __attribute__((x))
#else
#define TP_THREAD_ANNOTATION(x)
#endif

#define TP_GUARDED_BY(x) TP_THREAD_ANNOTATION(guarded_by(x))
#define TP_PT_GUARDED_BY(x) TP_THREAD_ANNOTATION(pt_guarded_by(x))
#define TP_REQUIRES(...) TP_THREAD_ANNOTATION(requires_capability(__VA_ARGS__))
#define TP_EXCLUDES(...) TP_THREAD_ANNOTATION(locks_excluded(__VA_ARGS__))
