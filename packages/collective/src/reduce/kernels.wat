;; Reduction kernels over a shared memory, 4 floats at a time (wasm SIMD).
;; Source of the bytes in wasm-kernels.ts (beside this file); regenerate with:
;;   wat2wasm --enable-threads kernels.wat -o kernels.wasm && base64 -w0 kernels.wasm
;; Addresses are byte offsets (unsigned), 4-byte aligned; n is a count of floats.
(module
  (import "env" "memory" (memory 1 65536 shared))

  ;; dst[i] = dst[i] + src[i]
  (func (export "sum") (param $d i32) (param $s i32) (param $n i32)
    (local $groups i32)
    
    (local.set $groups (i32.shr_u (local.get $n) (i32.const 2)))
    (block $done
      (loop $vec
        (br_if $done (i32.eqz (local.get $groups)))
        (v128.store align=4 (local.get $d) (f32x4.add (v128.load align=4 (local.get $d)) (v128.load align=4 (local.get $s))))
        (local.set $d (i32.add (local.get $d) (i32.const 16)))
        (local.set $s (i32.add (local.get $s) (i32.const 16)))
        (local.set $groups (i32.sub (local.get $groups) (i32.const 1)))
        (br $vec)))
    (local.set $n (i32.and (local.get $n) (i32.const 3)))
    (block $done2
      (loop $tail
        (br_if $done2 (i32.eqz (local.get $n)))
        (f32.store (local.get $d) (f32.add (f32.load (local.get $d)) (f32.load (local.get $s))))
        (local.set $d (i32.add (local.get $d) (i32.const 4)))
        (local.set $s (i32.add (local.get $s) (i32.const 4)))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $tail))))

  ;; dst[i] = max(dst[i], src[i]); commutative bit for bit for signed zeros (+0 wins).
  (func (export "max") (param $d i32) (param $s i32) (param $n i32)
    (local $groups i32)
    
    (local.set $groups (i32.shr_u (local.get $n) (i32.const 2)))
    (block $done
      (loop $vec
        (br_if $done (i32.eqz (local.get $groups)))
        (v128.store align=4 (local.get $d) (f32x4.max (v128.load align=4 (local.get $d)) (v128.load align=4 (local.get $s))))
        (local.set $d (i32.add (local.get $d) (i32.const 16)))
        (local.set $s (i32.add (local.get $s) (i32.const 16)))
        (local.set $groups (i32.sub (local.get $groups) (i32.const 1)))
        (br $vec)))
    (local.set $n (i32.and (local.get $n) (i32.const 3)))
    (block $done2
      (loop $tail
        (br_if $done2 (i32.eqz (local.get $n)))
        (f32.store (local.get $d) (f32.max (f32.load (local.get $d)) (f32.load (local.get $s))))
        (local.set $d (i32.add (local.get $d) (i32.const 4)))
        (local.set $s (i32.add (local.get $s) (i32.const 4)))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $tail))))

  ;; dst[i] = src[i] / divisor
  (func (export "div") (param $d i32) (param $s i32) (param $n i32) (param $divisor f32)
    (local $groups i32) (local $vdiv v128)
    (local.set $vdiv (f32x4.splat (local.get $divisor)))
    (local.set $groups (i32.shr_u (local.get $n) (i32.const 2)))
    (block $done
      (loop $vec
        (br_if $done (i32.eqz (local.get $groups)))
        (v128.store align=4 (local.get $d) (f32x4.div (v128.load align=4 (local.get $s)) (local.get $vdiv)))
        (local.set $d (i32.add (local.get $d) (i32.const 16)))
        (local.set $s (i32.add (local.get $s) (i32.const 16)))
        (local.set $groups (i32.sub (local.get $groups) (i32.const 1)))
        (br $vec)))
    (local.set $n (i32.and (local.get $n) (i32.const 3)))
    (block $done2
      (loop $tail
        (br_if $done2 (i32.eqz (local.get $n)))
        (f32.store (local.get $d) (f32.div (f32.load (local.get $s)) (local.get $divisor)))
        (local.set $d (i32.add (local.get $d) (i32.const 4)))
        (local.set $s (i32.add (local.get $s) (i32.const 4)))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $tail))))
)
