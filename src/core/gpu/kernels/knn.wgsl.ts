// WGSL source of the k-NN distance kernel, kept as a TS string constant so Vite, esbuild and Node
// all import it without a loader. The JS twin is src/core/search/knn.ts; the runner is
// src/core/search/knn-webgpu.ts. One invocation scores one (row, query) pair with the same ranking
// key as the twin: sum |d|^p (no p-th root), max |d| for Chebyshev, 1 - q.x for cosine. Top-k
// selection stays on the CPU (TopK): it is k-bounded and cheap next to the n x dim distance work.
//
// Modes (must match MODE in knn-webgpu.ts): 0 L1, 1 L2, 2 L3, 3 L4, 4 integer p (binary powering),
// 5 general p (pow), 6 Chebyshev, 7 cosine (1 - dot).
// int8 rows arrive packed 4 codes per u32 word (little-endian), `words` words per row; a row's
// value is code * scale[row], as stored in the vectors shards.
export const KNN_WGSL = /* wgsl */ `
struct Params {
  n: u32,
  dim: u32,
  nq: u32,
  mode: u32,
  p: f32,
  pint: u32,
  words: u32,
  _pad: u32,
};

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> queries: array<f32>;
@group(0) @binding(2) var<storage, read_write> scores: array<f32>;
@group(0) @binding(3) var<storage, read> rowsF32: array<f32>;
@group(0) @binding(4) var<storage, read> rowsI8: array<u32>;
@group(0) @binding(5) var<storage, read> scales: array<f32>;

fn powInt(a: f32, p: u32) -> f32 {
  var result = 1.0;
  var base = a;
  var e = p;
  loop {
    if (e == 0u) { break; }
    if ((e & 1u) == 1u) { result = result * base; }
    base = base * base;
    e = e >> 1u;
  }
  return result;
}

// Adds one component's contribution to the running key (acc), for the Minkowski modes.
fn accumulate(acc: f32, d: f32) -> f32 {
  let a = abs(d);
  switch params.mode {
    case 0u: { return acc + a; }
    case 1u: { return acc + a * a; }
    case 2u: { return acc + a * a * a; }
    case 3u: { let e = a * a; return acc + e * e; }
    case 4u: { return acc + powInt(a, params.pint); }
    case 6u: { return max(acc, a); }
    default: {
      // pow(0, p) is exp2(p * log2(0)) = 0 for p > 0 on conforming implementations; keep it explicit.
      if (a == 0.0) { return acc; }
      return acc + pow(a, params.p);
    }
  }
}

@compute @workgroup_size(64)
fn scoreF32(@builtin(global_invocation_id) gid: vec3<u32>) {
  let row = gid.x;
  let qi = gid.y;
  if (row >= params.n || qi >= params.nq) { return; }
  let dim = params.dim;
  let ro = row * dim;
  let qo = qi * dim;
  var acc = 0.0;
  if (params.mode == 7u) {
    for (var j = 0u; j < dim; j = j + 1u) { acc = acc + queries[qo + j] * rowsF32[ro + j]; }
    acc = 1.0 - acc;
  } else {
    for (var j = 0u; j < dim; j = j + 1u) { acc = accumulate(acc, queries[qo + j] - rowsF32[ro + j]); }
  }
  scores[qi * params.n + row] = acc;
}

@compute @workgroup_size(64)
fn scoreI8(@builtin(global_invocation_id) gid: vec3<u32>) {
  let row = gid.x;
  let qi = gid.y;
  if (row >= params.n || qi >= params.nq) { return; }
  let dim = params.dim;
  let wo = row * params.words;
  let qo = qi * dim;
  let s = scales[row];
  var acc = 0.0;
  for (var w = 0u; w < params.words; w = w + 1u) {
    let word = bitcast<i32>(rowsI8[wo + w]);
    for (var b = 0u; b < 4u; b = b + 1u) {
      let j = w * 4u + b;
      if (j >= dim) { break; }
      // extractBits on i32 sign-extends: the int8 code.
      let code = f32(extractBits(word, b * 8u, 8u));
      if (params.mode == 7u) {
        acc = acc + queries[qo + j] * code;
      } else {
        acc = accumulate(acc, queries[qo + j] - code * s);
      }
    }
  }
  if (params.mode == 7u) { acc = 1.0 - s * acc; }
  scores[qi * params.n + row] = acc;
}
`;
