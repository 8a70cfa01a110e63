//===- TilingInterfaceImpl.h - Tiling sherry.matmul -------------*- C++ -*-===//

#ifndef SHERRY_DIALECT_SHERRY_TRANSFORMS_TILINGINTERFACEIMPL_H
#define SHERRY_DIALECT_SHERRY_TRANSFORMS_TILINGINTERFACEIMPL_H

namespace mlir {
class DialectRegistry;

namespace sherry {
/// Attaches TilingInterface to sherry.matmul: a 2-D parallel iteration space
/// over N (activation rows) and M (output features), so upstream tiling
/// (scf.for, scf.forall) and the transform dialect split it into smaller
/// sherry.matmul ops on slices. K is the micro-kernel's own loop and is not
/// exposed: packed rows are indivisible below a group.
void registerTilingInterfaceExternalModels(DialectRegistry &registry);
} // namespace sherry
} // namespace mlir

#endif // SHERRY_DIALECT_SHERRY_TRANSFORMS_TILINGINTERFACEIMPL_H
