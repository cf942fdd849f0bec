//! The MeshGuard gateway: the evaluator component hosted in wasmtime, behind the HTTP API
//! the official MeshGuard SDKs speak.

pub mod engine;
