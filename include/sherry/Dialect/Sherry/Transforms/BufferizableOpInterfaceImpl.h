//===- BufferizableOpInterfaceImpl.h - One-shot bufferization ---*- C++ -*-===//

#ifndef SHERRY_DIALECT_SHERRY_TRANSFORMS_BUFFERIZABLEOPINTERFACEIMPL_H
#define SHERRY_DIALECT_SHERRY_TRANSFORMS_BUFFERIZABLEOPINTERFACEIMPL_H

namespace mlir {
class DialectRegistry;

namespace sherry {
/// Attaches BufferizableOpInterface to sherry.matmul, so that one-shot
/// bufferization turns its tensor form into its memref form in place.
void registerBufferizableOpInterfaceExternalModels(DialectRegistry &registry);
} // namespace sherry
} // namespace mlir

#endif // SHERRY_DIALECT_SHERRY_TRANSFORMS_BUFFERIZABLEOPINTERFACEIMPL_H
