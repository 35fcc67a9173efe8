//! placeholder (testing kit in progress)
