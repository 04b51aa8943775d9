mod add;
mod arrival_order;
mod process;
mod python;
