;; f32 "A times B-transposed" for the high-dimension distance kernels (src/core/cluster/simd.ts).
;; out[r*cols + c] = sum_t a[r*inner + t] * b[c*inner + t]; a, b, out are byte offsets into the
;; exported memory, 16-byte aligned; inner is a multiple of 4 (rows are zero-padded by the caller).
;; 4 x 2 register tile of f32x4 accumulators (8 accumulators + 4 row operands + 1 column
;; operand fit the 16 SIMD registers): 8 vector multiply-adds per 6 loads. Leftover rows /
;; columns use a 1 x 1 vector dot product.
;; Build: wat2wasm simd-dot.wat -o simd-dot.wasm  (wabt 1.0.32), then base64 into simd.ts.
(module
  (memory (export "memory") 1)
  (func $hsum (param $s v128) (result f32)
    (f32.add
      (f32.add (f32x4.extract_lane 0 (local.get $s)) (f32x4.extract_lane 1 (local.get $s)))
      (f32.add (f32x4.extract_lane 2 (local.get $s)) (f32x4.extract_lane 3 (local.get $s)))))
  (func $dot (param $pa i32) (param $pb i32) (param $bytes i32) (result f32)
    (local $t i32) (local $s v128)
    (local.set $s (v128.const i32x4 0 0 0 0))
    (local.set $t (i32.const 0))
    (block $done
      (loop $l
        (br_if $done (i32.ge_u (local.get $t) (local.get $bytes)))
        (local.set $s (f32x4.add (local.get $s)
          (f32x4.mul (v128.load (i32.add (local.get $pa) (local.get $t)))
                     (v128.load (i32.add (local.get $pb) (local.get $t))))))
        (local.set $t (i32.add (local.get $t) (i32.const 16)))
        (br $l)))
    (call $hsum (local.get $s)))
  (func (export "gemm_nt") (param $a i32) (param $b i32) (param $out i32) (param $rows i32) (param $cols i32) (param $inner i32)
    (local $stride i32) (local $r i32) (local $c i32) (local $t i32) (local $rr i32) (local $y v128)
    (local $pa0 i32) (local $po0 i32) (local $x0 v128) (local $pa1 i32) (local $po1 i32) (local $x1 v128) (local $pa2 i32) (local $po2 i32) (local $x2 v128) (local $pa3 i32) (local $po3 i32) (local $x3 v128)
    (local $pb0 i32) (local $pb1 i32)
    (local $s00 v128) (local $s01 v128) (local $s10 v128) (local $s11 v128) (local $s20 v128) (local $s21 v128) (local $s30 v128) (local $s31 v128)
    (local.set $stride (i32.shl (local.get $inner) (i32.const 2)))
    (local.set $r (i32.const 0))
    (block $rows_done
      (loop $rows_loop
        (br_if $rows_done (i32.gt_u (i32.add (local.get $r) (i32.const 4)) (local.get $rows)))
        (local.set $pa0 (i32.add (local.get $a) (i32.mul (local.get $r) (local.get $stride))))
        (local.set $po0 (i32.add (local.get $out) (i32.shl (i32.mul (local.get $r) (local.get $cols)) (i32.const 2))))
        (local.set $pa1 (i32.add (local.get $pa0) (local.get $stride)))
        (local.set $po1 (i32.add (local.get $po0) (i32.shl (local.get $cols) (i32.const 2))))
        (local.set $pa2 (i32.add (local.get $pa1) (local.get $stride)))
        (local.set $po2 (i32.add (local.get $po1) (i32.shl (local.get $cols) (i32.const 2))))
        (local.set $pa3 (i32.add (local.get $pa2) (local.get $stride)))
        (local.set $po3 (i32.add (local.get $po2) (i32.shl (local.get $cols) (i32.const 2))))
        (local.set $c (i32.const 0))
        (block $cols_done
          (loop $cols_loop
            (br_if $cols_done (i32.gt_u (i32.add (local.get $c) (i32.const 2)) (local.get $cols)))
            (local.set $pb0 (i32.add (local.get $b) (i32.mul (local.get $c) (local.get $stride))))
            (local.set $pb1 (i32.add (local.get $pb0) (local.get $stride)))
            (local.set $s00 (v128.const i32x4 0 0 0 0))
            (local.set $s01 (v128.const i32x4 0 0 0 0))
            (local.set $s10 (v128.const i32x4 0 0 0 0))
            (local.set $s11 (v128.const i32x4 0 0 0 0))
            (local.set $s20 (v128.const i32x4 0 0 0 0))
            (local.set $s21 (v128.const i32x4 0 0 0 0))
            (local.set $s30 (v128.const i32x4 0 0 0 0))
            (local.set $s31 (v128.const i32x4 0 0 0 0))
            (local.set $t (i32.const 0))
            (block $in_done
              (loop $in_loop
                (br_if $in_done (i32.ge_u (local.get $t) (local.get $stride)))
                (local.set $x0 (v128.load (i32.add (local.get $pa0) (local.get $t))))
                (local.set $x1 (v128.load (i32.add (local.get $pa1) (local.get $t))))
                (local.set $x2 (v128.load (i32.add (local.get $pa2) (local.get $t))))
                (local.set $x3 (v128.load (i32.add (local.get $pa3) (local.get $t))))
                (local.set $y (v128.load (i32.add (local.get $pb0) (local.get $t))))
                (local.set $s00 (f32x4.add (local.get $s00) (f32x4.mul (local.get $x0) (local.get $y))))
                (local.set $s10 (f32x4.add (local.get $s10) (f32x4.mul (local.get $x1) (local.get $y))))
                (local.set $s20 (f32x4.add (local.get $s20) (f32x4.mul (local.get $x2) (local.get $y))))
                (local.set $s30 (f32x4.add (local.get $s30) (f32x4.mul (local.get $x3) (local.get $y))))
                (local.set $y (v128.load (i32.add (local.get $pb1) (local.get $t))))
                (local.set $s01 (f32x4.add (local.get $s01) (f32x4.mul (local.get $x0) (local.get $y))))
                (local.set $s11 (f32x4.add (local.get $s11) (f32x4.mul (local.get $x1) (local.get $y))))
                (local.set $s21 (f32x4.add (local.get $s21) (f32x4.mul (local.get $x2) (local.get $y))))
                (local.set $s31 (f32x4.add (local.get $s31) (f32x4.mul (local.get $x3) (local.get $y))))
                (local.set $t (i32.add (local.get $t) (i32.const 16)))
                (br $in_loop)))
            (f32.store offset=0 (i32.add (local.get $po0) (i32.shl (local.get $c) (i32.const 2))) (call $hsum (local.get $s00)))
            (f32.store offset=4 (i32.add (local.get $po0) (i32.shl (local.get $c) (i32.const 2))) (call $hsum (local.get $s01)))
            (f32.store offset=0 (i32.add (local.get $po1) (i32.shl (local.get $c) (i32.const 2))) (call $hsum (local.get $s10)))
            (f32.store offset=4 (i32.add (local.get $po1) (i32.shl (local.get $c) (i32.const 2))) (call $hsum (local.get $s11)))
            (f32.store offset=0 (i32.add (local.get $po2) (i32.shl (local.get $c) (i32.const 2))) (call $hsum (local.get $s20)))
            (f32.store offset=4 (i32.add (local.get $po2) (i32.shl (local.get $c) (i32.const 2))) (call $hsum (local.get $s21)))
            (f32.store offset=0 (i32.add (local.get $po3) (i32.shl (local.get $c) (i32.const 2))) (call $hsum (local.get $s30)))
            (f32.store offset=4 (i32.add (local.get $po3) (i32.shl (local.get $c) (i32.const 2))) (call $hsum (local.get $s31)))
            (local.set $c (i32.add (local.get $c) (i32.const 2)))
            (br $cols_loop)))
        (block $rc_done
          (loop $rc_loop
            (br_if $rc_done (i32.ge_u (local.get $c) (local.get $cols)))
            (local.set $pb0 (i32.add (local.get $b) (i32.mul (local.get $c) (local.get $stride))))
            (f32.store (i32.add (local.get $po0) (i32.shl (local.get $c) (i32.const 2))) (call $dot (local.get $pa0) (local.get $pb0) (local.get $stride)))
            (f32.store (i32.add (local.get $po1) (i32.shl (local.get $c) (i32.const 2))) (call $dot (local.get $pa1) (local.get $pb0) (local.get $stride)))
            (f32.store (i32.add (local.get $po2) (i32.shl (local.get $c) (i32.const 2))) (call $dot (local.get $pa2) (local.get $pb0) (local.get $stride)))
            (f32.store (i32.add (local.get $po3) (i32.shl (local.get $c) (i32.const 2))) (call $dot (local.get $pa3) (local.get $pb0) (local.get $stride)))
            (local.set $c (i32.add (local.get $c) (i32.const 1)))
            (br $rc_loop)))
        (local.set $r (i32.add (local.get $r) (i32.const 4)))
        (br $rows_loop)))
    ;; leftover rows (fewer than 4): one at a time
    (block $lr_rows_done
      (loop $lr_rows
        (br_if $lr_rows_done (i32.ge_u (local.get $r) (local.get $rows)))
        (local.set $pa0 (i32.add (local.get $a) (i32.mul (local.get $r) (local.get $stride))))
        (local.set $po0 (i32.add (local.get $out) (i32.shl (i32.mul (local.get $r) (local.get $cols)) (i32.const 2))))
        (local.set $c (i32.const 0))
        (block $lr_done
          (loop $lr_loop
            (br_if $lr_done (i32.ge_u (local.get $c) (local.get $cols)))
            (f32.store (i32.add (local.get $po0) (i32.shl (local.get $c) (i32.const 2)))
              (call $dot (local.get $pa0) (i32.add (local.get $b) (i32.mul (local.get $c) (local.get $stride))) (local.get $stride)))
            (local.set $c (i32.add (local.get $c) (i32.const 1)))
            (br $lr_loop)))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $lr_rows)))))
