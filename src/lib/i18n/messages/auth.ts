import { defineMessages } from '../define';

export default defineMessages({
	en: {
		'login.title': 'Sign in',
		'login.username': 'Username',
		'login.password': 'Password',
		'login.submit': 'Sign in',
		'login.invalid': 'Wrong username or password.',
		'login.throttled': 'Too many failed attempts. Try again in {seconds} seconds.',
		'login.missing': 'Enter your username and password.',
		'login.noAccount': 'Accounts are created by your administrator.',
		'logout.submit': 'Sign out',
		'logout.done': 'You have signed out.'
	},
	'zh-CN': {
		'login.title': '登录',
		'login.username': '用户名',
		'login.password': '密码',
		'login.submit': '登录',
		'login.invalid': '用户名或密码错误。',
		'login.throttled': '失败次数过多，请在 {seconds} 秒后重试。',
		'login.missing': '请输入用户名和密码。',
		'login.noAccount': '账号由系统管理员创建。',
		'logout.submit': '退出登录',
		'logout.done': '您已退出登录。'
	}
});
