/** Importing this module registers every transport berth has. */
