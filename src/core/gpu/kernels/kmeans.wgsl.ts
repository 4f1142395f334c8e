// WGSL for the Lloyd assignment step: each invocation takes one point and finds its nearest
// centroid (squared Euclidean distance, direct differences as the JS twin's low-d kernel does),
// writing the label and the squared distance. Kept as a string constant so Vite, Node and esbuild
// need no loader. The centre update stays on the CPU (its sums are O(n d), bandwidth-bound, and
// must match the JS twin's float order exactly).
//
// One invocation per point, no workgroup memory or barriers: on SwiftShader (the only adapter in
// CI) barrier-heavy kernels are 10-15x slower, and on real GPUs the centroid reads hit the cache
// because every invocation of a workgroup walks the same centroid rows in lock step.
// Ties keep the lower centroid index (strict `<`), like the JS twin.

export const KMEANS_ASSIGN_WORKGROUP = 64;

/** Grid width in workgroups: 2-D dispatch lifts the 65,535-workgroups-per-dimension limit. */
export const KMEANS_ASSIGN_GRID_X = 16384;

export const KMEANS_ASSIGN_WGSL = /* wgsl */ `
struct Params {
  n: u32,
  d: u32,
  k: u32,
  _pad: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> points: array<f32>;
@group(0) @binding(2) var<storage, read> centroids: array<f32>;
@group(0) @binding(3) var<storage, read_write> labels: array<u32>;
@group(0) @binding(4) var<storage, read_write> dist2: array<f32>;

@compute @workgroup_size(${KMEANS_ASSIGN_WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x + gid.y * ${KMEANS_ASSIGN_GRID_X * KMEANS_ASSIGN_WORKGROUP}u;
  if (i >= params.n) {
    return;
  }
  let d = params.d;
  let base = i * d;
  var best = 3.402823e38;
  var bestJ = 0u;
  for (var j = 0u; j < params.k; j = j + 1u) {
    let cb = j * d;
    var s = 0.0;
    for (var t = 0u; t < d; t = t + 1u) {
      let diff = points[base + t] - centroids[cb + t];
      s = s + diff * diff;
    }
    if (s < best) {
      best = s;
      bestJ = j;
    }
  }
  labels[i] = bestJ;
  dist2[i] = best;
}
`;
