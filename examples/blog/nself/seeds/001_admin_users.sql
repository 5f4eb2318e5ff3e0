INSERT INTO users (email, name, role) VALUES ('admin@example.com', 'Admin', 'admin')
ON CONFLICT (email) DO NOTHING;
