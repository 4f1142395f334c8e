;; Integer "A times B-transposed" for the summaries stage's k-NN filter (prebuild/summaries-knn.ts):
;; out[r * cols + c] = sum_t a[r * inner + t] * b[c * inner + t], a and b int16 (int8 codes widened),
;; out int32. Exact: |products| <= 128 * 128 and inner <= 65536 keep every partial sum within int32.
;; i32x4.dot_i16x8_s does 8 multiply-adds per instruction (twice f32x4's mul + add); a 4 x 2 register
;; tile of accumulators shares each load. `inner` must be a multiple of 8 (zero-pad rows); addresses
;; are byte offsets. Assembled with wabt 1.0.32: wat2wasm summaries-gemm-i16.wat -o gemm-i16.wasm
(module
  (memory (export "memory") 1)

  (func $hsum (param $v v128) (result i32)
    (i32.add
      (i32.add (i32x4.extract_lane 0 (local.get $v)) (i32x4.extract_lane 1 (local.get $v)))
      (i32.add (i32x4.extract_lane 2 (local.get $v)) (i32x4.extract_lane 3 (local.get $v)))))

  ;; one dot product of $n bytes (n a multiple of 16)
  (func $dot (param $a i32) (param $b i32) (param $n i32) (result i32)
    (local $t i32) (local $acc v128)
    (block $done
      (loop $l
        (br_if $done (i32.ge_u (local.get $t) (local.get $n)))
        (local.set $acc
          (i32x4.add (local.get $acc)
            (i32x4.dot_i16x8_s
              (v128.load (i32.add (local.get $a) (local.get $t)))
              (v128.load (i32.add (local.get $b) (local.get $t))))))
        (local.set $t (i32.add (local.get $t) (i32.const 16)))
        (br $l)))
    (call $hsum (local.get $acc)))

  (func (export "gemm_nt_i16") (param $a i32) (param $b i32) (param $out i32) (param $rows i32) (param $cols i32) (param $inner i32)
    (local $rb i32) (local $ob i32) (local $r i32) (local $c i32) (local $t i32)
    (local $a0 i32) (local $a1 i32) (local $a2 i32) (local $a3 i32)
    (local $b0 i32) (local $b1 i32)
    (local $o0 i32) (local $o1 i32) (local $o2 i32) (local $o3 i32)
    (local $y0 v128) (local $y1 v128) (local $x v128)
    (local $s00 v128) (local $s01 v128) (local $s10 v128) (local $s11 v128)
    (local $s20 v128) (local $s21 v128) (local $s30 v128) (local $s31 v128)
    (local.set $rb (i32.shl (local.get $inner) (i32.const 1)))
    (local.set $ob (i32.shl (local.get $cols) (i32.const 2)))
    ;; rows four at a time
    (block $rdone
      (loop $rl
        (br_if $rdone (i32.gt_u (i32.add (local.get $r) (i32.const 4)) (local.get $rows)))
        (local.set $a0 (i32.add (local.get $a) (i32.mul (local.get $r) (local.get $rb))))
        (local.set $a1 (i32.add (local.get $a0) (local.get $rb)))
        (local.set $a2 (i32.add (local.get $a1) (local.get $rb)))
        (local.set $a3 (i32.add (local.get $a2) (local.get $rb)))
        (local.set $o0 (i32.add (local.get $out) (i32.mul (local.get $r) (local.get $ob))))
        (local.set $o1 (i32.add (local.get $o0) (local.get $ob)))
        (local.set $o2 (i32.add (local.get $o1) (local.get $ob)))
        (local.set $o3 (i32.add (local.get $o2) (local.get $ob)))
        (local.set $c (i32.const 0))
        ;; columns two at a time
        (block $cdone
          (loop $cl
            (br_if $cdone (i32.gt_u (i32.add (local.get $c) (i32.const 2)) (local.get $cols)))
            (local.set $b0 (i32.add (local.get $b) (i32.mul (local.get $c) (local.get $rb))))
            (local.set $b1 (i32.add (local.get $b0) (local.get $rb)))
            (local.set $s00 (v128.const i32x4 0 0 0 0)) (local.set $s01 (v128.const i32x4 0 0 0 0))
            (local.set $s10 (v128.const i32x4 0 0 0 0)) (local.set $s11 (v128.const i32x4 0 0 0 0))
            (local.set $s20 (v128.const i32x4 0 0 0 0)) (local.set $s21 (v128.const i32x4 0 0 0 0))
            (local.set $s30 (v128.const i32x4 0 0 0 0)) (local.set $s31 (v128.const i32x4 0 0 0 0))
            (local.set $t (i32.const 0))
            (block $tdone
              (loop $tl
                (br_if $tdone (i32.ge_u (local.get $t) (local.get $rb)))
                (local.set $y0 (v128.load (i32.add (local.get $b0) (local.get $t))))
                (local.set $y1 (v128.load (i32.add (local.get $b1) (local.get $t))))
                (local.set $x (v128.load (i32.add (local.get $a0) (local.get $t))))
                (local.set $s00 (i32x4.add (local.get $s00) (i32x4.dot_i16x8_s (local.get $x) (local.get $y0))))
                (local.set $s01 (i32x4.add (local.get $s01) (i32x4.dot_i16x8_s (local.get $x) (local.get $y1))))
                (local.set $x (v128.load (i32.add (local.get $a1) (local.get $t))))
                (local.set $s10 (i32x4.add (local.get $s10) (i32x4.dot_i16x8_s (local.get $x) (local.get $y0))))
                (local.set $s11 (i32x4.add (local.get $s11) (i32x4.dot_i16x8_s (local.get $x) (local.get $y1))))
                (local.set $x (v128.load (i32.add (local.get $a2) (local.get $t))))
                (local.set $s20 (i32x4.add (local.get $s20) (i32x4.dot_i16x8_s (local.get $x) (local.get $y0))))
                (local.set $s21 (i32x4.add (local.get $s21) (i32x4.dot_i16x8_s (local.get $x) (local.get $y1))))
                (local.set $x (v128.load (i32.add (local.get $a3) (local.get $t))))
                (local.set $s30 (i32x4.add (local.get $s30) (i32x4.dot_i16x8_s (local.get $x) (local.get $y0))))
                (local.set $s31 (i32x4.add (local.get $s31) (i32x4.dot_i16x8_s (local.get $x) (local.get $y1))))
                (local.set $t (i32.add (local.get $t) (i32.const 16)))
                (br $tl)))
            (i32.store (i32.add (local.get $o0) (i32.shl (local.get $c) (i32.const 2))) (call $hsum (local.get $s00)))
            (i32.store offset=4 (i32.add (local.get $o0) (i32.shl (local.get $c) (i32.const 2))) (call $hsum (local.get $s01)))
            (i32.store (i32.add (local.get $o1) (i32.shl (local.get $c) (i32.const 2))) (call $hsum (local.get $s10)))
            (i32.store offset=4 (i32.add (local.get $o1) (i32.shl (local.get $c) (i32.const 2))) (call $hsum (local.get $s11)))
            (i32.store (i32.add (local.get $o2) (i32.shl (local.get $c) (i32.const 2))) (call $hsum (local.get $s20)))
            (i32.store offset=4 (i32.add (local.get $o2) (i32.shl (local.get $c) (i32.const 2))) (call $hsum (local.get $s21)))
            (i32.store (i32.add (local.get $o3) (i32.shl (local.get $c) (i32.const 2))) (call $hsum (local.get $s30)))
            (i32.store offset=4 (i32.add (local.get $o3) (i32.shl (local.get $c) (i32.const 2))) (call $hsum (local.get $s31)))
            (local.set $c (i32.add (local.get $c) (i32.const 2)))
            (br $cl)))
        ;; an odd last column
        (if (i32.lt_u (local.get $c) (local.get $cols))
          (then
            (local.set $b0 (i32.add (local.get $b) (i32.mul (local.get $c) (local.get $rb))))
            (i32.store (i32.add (local.get $o0) (i32.shl (local.get $c) (i32.const 2))) (call $dot (local.get $a0) (local.get $b0) (local.get $rb)))
            (i32.store (i32.add (local.get $o1) (i32.shl (local.get $c) (i32.const 2))) (call $dot (local.get $a1) (local.get $b0) (local.get $rb)))
            (i32.store (i32.add (local.get $o2) (i32.shl (local.get $c) (i32.const 2))) (call $dot (local.get $a2) (local.get $b0) (local.get $rb)))
            (i32.store (i32.add (local.get $o3) (i32.shl (local.get $c) (i32.const 2))) (call $dot (local.get $a3) (local.get $b0) (local.get $rb)))))
        (local.set $r (i32.add (local.get $r) (i32.const 4)))
        (br $rl)))
    ;; the last rows one at a time
    (block $r1done
      (loop $r1l
        (br_if $r1done (i32.ge_u (local.get $r) (local.get $rows)))
        (local.set $a0 (i32.add (local.get $a) (i32.mul (local.get $r) (local.get $rb))))
        (local.set $o0 (i32.add (local.get $out) (i32.mul (local.get $r) (local.get $ob))))
        (local.set $c (i32.const 0))
        (block $c1done
          (loop $c1l
            (br_if $c1done (i32.ge_u (local.get $c) (local.get $cols)))
            (i32.store (i32.add (local.get $o0) (i32.shl (local.get $c) (i32.const 2)))
              (call $dot (local.get $a0) (i32.add (local.get $b) (i32.mul (local.get $c) (local.get $rb))) (local.get $rb)))
            (local.set $c (i32.add (local.get $c) (i32.const 1)))
            (br $c1l)))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $r1l)))))
