//! The reward rules of shared/spec/settlement.md (级差, 推荐奖, 团队业绩奖)
//! and the compliance guard, as pure functions. (Being written.)
