//! The resource commands over the management API: the kinds (`kinds`), their generic CRUD
//! (`crud`) and the policy extras (`policies`).

pub mod crud;
pub mod kinds;
pub mod policies;
