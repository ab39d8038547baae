//! Rules of the agent network (代理体系): agents.csv rows, the sponsor
//! forest, masking of personal data. See shared/spec/settlement.md.
//!
//! (Being written; see the module's tests.)
